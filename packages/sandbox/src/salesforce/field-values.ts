/**
 * The checks a record update makes on the field values it is sent, shared by the single-record PATCH and the
 * sObject Collections update. `parse` refusals are found while reading the JSON (unknown column, wrong JSON
 * type) and refuse a Collections request as a whole; `save` refusals come from saving one record (read-only
 * field, invalid email, required field blanked) and fail that record alone.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
import { fieldOf, type SfObjectName } from './schema.js';

export interface FieldRefusal {
  stage: 'parse' | 'save';
  errorCode: string;
  message: string;
  fields: string[];
}

/** The fields to write, or the first refusal. `attributes` (and, for Collections, `id`) are not fields to write. */
export function checkFieldValues(
  object: SfObjectName,
  values: Record<string, unknown>,
  skip: readonly string[] = ['attributes'],
): { set: Record<string, unknown> } | { refusal: FieldRefusal } {
  const set: Record<string, unknown> = {};
  const refuse = (stage: FieldRefusal['stage'], errorCode: string, message: string, field: string) => ({
    refusal: { stage, errorCode, message, fields: [field] },
  });
  let saveRefusal: { refusal: FieldRefusal } | undefined;
  for (const [name, value] of Object.entries(values)) {
    if (skip.includes(name)) continue;
    const field = fieldOf(object, name);
    if (!field) return refuse('parse', 'INVALID_FIELD', `No such column '${name}' on sobject of type ${object}`, name);
    if (field.type === 'boolean' && typeof value !== 'boolean')
      return refuse(
        'parse',
        'JSON_PARSER_ERROR',
        `Cannot deserialize instance of boolean for field ${field.name}`,
        field.name,
      );
    if (value !== null && field.type !== 'boolean' && typeof value !== 'string')
      return refuse(
        'parse',
        'JSON_PARSER_ERROR',
        `Cannot deserialize instance of ${field.type} for field ${field.name}`,
        field.name,
      );
    if (!saveRefusal) {
      if (!field.updateable)
        saveRefusal = refuse(
          'save',
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${field.name}.`,
          field.name,
        );
      // The message names the field, never the value (it may be personal data).
      else if (field.type === 'email' && typeof value === 'string' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value))
        saveRefusal = refuse('save', 'INVALID_EMAIL_ADDRESS', `${field.name}: invalid email address`, field.name);
      else if (field.name === 'LastName' && (value === null || value === ''))
        saveRefusal = refuse('save', 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [LastName]', 'LastName');
    }
    set[field.name] = value;
  }
  return saveRefusal ?? { set };
}
