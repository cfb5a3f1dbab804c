/**
 * Long property lists never make a 414. HubSpot's list endpoint takes `properties` in the query string;
 * portals with hundreds of custom properties push the URL past what HubSpot accepts (414 URI Too Long;
 * Airbyte chunks at 15,000 characters, airbytehq/airbyte#3977). The list call asks for the first chunk
 * that fits the URL budget and the rest is read with batch read, whose property list is a POST body.
 */

/**
 * Characters of the `properties` query value a list URL may carry. Well below the 15,000 Airbyte uses
 * against the live API, and below the sandbox look-alike's 12,000-character URL limit with room for the
 * path, `after`, `associations` and `limit`.
 */
export const LIST_PROPERTIES_BUDGET = 8_000;

/** Query-string characters one property costs as the SDK sends it (`properties=<encoded>&`, one per value). */
const cost = (property: string): number => encodeURIComponent(property).length + 'properties=&'.length;
/** Query-string characters of a property list. */
export const encodedLength = (properties: readonly string[]): number => properties.reduce((n, p) => n + cost(p), 0);

/**
 * Split `properties` into what the list URL carries (always including `required`) and the rest, which goes
 * into a batch read body. Order is kept; the URL part never passes `budget` characters once encoded.
 */
export function splitForUrl(
  properties: readonly string[],
  required: readonly string[],
  budget: number = LIST_PROPERTIES_BUDGET,
): { inUrl: string[]; inBody: string[] } {
  const inUrl = [...new Set(required)];
  const inBody: string[] = [];
  let length = encodedLength(inUrl);
  for (const p of properties) {
    if (inUrl.includes(p)) continue;
    const added = cost(p);
    if (inBody.length === 0 && length + added <= budget) {
      inUrl.push(p);
      length += added;
    } else inBody.push(p);
  }
  return { inUrl, inBody };
}
