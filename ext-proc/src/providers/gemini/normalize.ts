/*
 * Google's REST APIs parse proto3 JSON, which accepts both `lowerCamelCase` and the proto's own
 * `snake_case` field names; the Gemini docs' curl examples use the latter (`system_instruction`,
 * `inline_data`, `function_declarations`). Requests are brought to camelCase before validation so
 * one schema serves both spellings.
 *
 * Only message fields are renamed. Free-form values keep their keys as the caller wrote them:
 * function call `args`, function `response`, JSON Schemas (`parametersJsonSchema`,
 * `responseJsonSchema`), and the property names inside a Schema's `properties` map.
 */

type Json = unknown;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function camelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Renames the keys of one object; `walk` decides what happens to each value (by its camelCase key). */
function renameKeys(obj: Record<string, unknown>, walk: (key: string, value: Json) => Json): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = camelKey(k);
    // When both spellings are present the camelCase one wins, whatever the order.
    if (key in out && key !== k) continue;
    out[key] = walk(key, v);
  }
  return out;
}

/** Every key renamed at every depth: for messages with no free-form values (toolConfig, thinkingConfig…). */
function deep(value: Json): Json {
  if (Array.isArray(value)) return value.map(deep);
  if (!isRecord(value)) return value;
  return renameKeys(value, (_, v) => deep(v));
}

const mapArray = (value: Json, f: (v: Json) => Json): Json => (Array.isArray(value) ? value.map(f) : value);

/** Google's OpenAPI-subset Schema: `properties` keys are data, `enum`/`example`/`default` values too. */
export function normalizeSchema(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => {
    if (key === 'properties' && isRecord(v)) {
      const props: Record<string, unknown> = {};
      for (const [name, schema] of Object.entries(v)) props[name] = normalizeSchema(schema);
      return props;
    }
    if (key === 'items') return normalizeSchema(v);
    if (key === 'anyOf') return mapArray(v, normalizeSchema);
    return v;
  });
}

function normalizePart(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => {
    if (key === 'functionCall' || key === 'functionResponse') {
      if (!isRecord(v)) return v;
      return renameKeys(v, (k, inner) => (k === 'args' || k === 'response' ? inner : deep(inner)));
    }
    return deep(v);
  });
}

function normalizeContent(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => (key === 'parts' ? mapArray(v, normalizePart) : deep(v)));
}

function normalizeFunctionDeclaration(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => {
    if (key === 'parameters' || key === 'response') return normalizeSchema(v);
    if (key === 'parametersJsonSchema' || key === 'responseJsonSchema') return v;
    return deep(v);
  });
}

function normalizeTool(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => (key === 'functionDeclarations' ? mapArray(v, normalizeFunctionDeclaration) : deep(v)));
}

function normalizeGenerationConfig(value: Json): Json {
  if (!isRecord(value)) return value;
  return renameKeys(value, (key, v) => {
    if (key === 'responseSchema') return normalizeSchema(v);
    if (key === 'responseJsonSchema') return v;
    return deep(v);
  });
}

/** A generateContent request body with every message field in camelCase. */
export function normalizeRequest(body: Json): Json {
  if (!isRecord(body)) return body;
  return renameKeys(body, (key, v) => {
    switch (key) {
      case 'contents':
        return mapArray(v, normalizeContent);
      case 'systemInstruction':
        return normalizeContent(v);
      case 'tools':
        return mapArray(v, normalizeTool);
      case 'generationConfig':
        return normalizeGenerationConfig(v);
      default:
        return deep(v);
    }
  });
}
