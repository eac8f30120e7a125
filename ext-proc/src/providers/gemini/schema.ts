/*
 * Gemini's `parameters` and `responseSchema` use Google's Schema object, an OpenAPI 3.0 subset:
 * upper-case type names, `nullable`, int64 limits that may arrive as strings. The canonical form
 * carries JSON Schema, so those are converted on the way in. (On the way out the gateway sends
 * `parametersJsonSchema` / `responseJsonSchema`, which take JSON Schema as it is.)
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// int64 fields: proto3 JSON renders them as strings.
const INTEGER_FIELDS = new Set(['minItems', 'maxItems', 'minProperties', 'maxProperties', 'minLength', 'maxLength']);

/** Google Schema (already camelCase) → JSON Schema. Unknown keys are kept as they are. */
export function googleSchemaToJsonSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let nullable = false;
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case 'type':
        if (typeof value === 'string' && value.toUpperCase() !== 'TYPE_UNSPECIFIED') out.type = value.toLowerCase();
        break;
      case 'nullable':
        nullable = value === true;
        break;
      case 'properties':
        if (isRecord(value)) {
          const props: Record<string, unknown> = {};
          for (const [name, sub] of Object.entries(value)) props[name] = isRecord(sub) ? googleSchemaToJsonSchema(sub) : sub;
          out.properties = props;
        }
        break;
      case 'items':
        out.items = isRecord(value) ? googleSchemaToJsonSchema(value) : value;
        break;
      case 'anyOf':
        out.anyOf = Array.isArray(value) ? value.map((s) => (isRecord(s) ? googleSchemaToJsonSchema(s) : s)) : value;
        break;
      case 'example':
        out.examples = [value];
        break;
      case 'propertyOrdering':
        // Gemini's hint for the order of generated keys; JSON Schema has no counterpart.
        break;
      default:
        out[key] = INTEGER_FIELDS.has(key) && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    }
  }
  if (nullable) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }];
    // An enum lists every allowed value: null must be one of them too.
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}
