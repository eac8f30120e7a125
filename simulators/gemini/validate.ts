/**
 * The checks the Gemini API makes on a generateContent body that tests are likely to hit, with
 * its message style (`* GenerateContentRequest.<field>: <problem>`).
 */
import { googleError, type GoogleErrorBody } from './errors.js';
import { field } from './plan.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (message: string): GoogleErrorBody => googleError(400, 'INVALID_ARGUMENT', message);

export function validateGenerateContent(body: unknown): GoogleErrorBody | null {
  if (!isRecord(body)) return bad('Invalid JSON payload received. Expected an object at the root of the request.');
  const contents = field(body, 'contents');
  if (!Array.isArray(contents) || contents.length === 0) return bad('* GenerateContentRequest.contents: contents is not specified\n');
  for (const [i, c] of contents.entries()) {
    if (!isRecord(c)) return bad(`Invalid JSON payload received. Expected an object at contents[${i}].`);
    const role = field(c, 'role');
    if (role !== undefined && role !== null && role !== 'user' && role !== 'model' && role !== 'function') {
      return bad('Please use a valid role: user, model.');
    }
    const parts = field(c, 'parts');
    if (!Array.isArray(parts) || parts.length === 0) return bad(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
  }
  const max = field(field(body, 'generationConfig'), 'maxOutputTokens');
  if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    return bad('* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be a positive integer.\n');
  }
  return null;
}
