/** REST error bodies are JSON arrays: `[{ message, errorCode, fields? }]`. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm */
import type { SandboxResponse } from '../kit/types.js';

export const errors = (status: number, errorCode: string, message: string, fields?: string[]): SandboxResponse => ({
  status,
  body: [{ message, errorCode, ...(fields ? { fields } : {}) }],
});

export const notFound = (): SandboxResponse => errors(404, 'NOT_FOUND', 'The requested resource does not exist');
