/*
 * `GET /api/tags` for Ollama callers. The gateway knows its models by name only, not as local
 * files, so the file facts Ollama reports are neutral values: size 0, empty digest and details,
 * and the Unix epoch as modified_at (a timestamp rather than "", which Go clients cannot parse).
 */

export interface OllamaTagModel {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details: {
    parent_model: string;
    format: string;
    family: string;
    families: string[];
    parameter_size: string;
    quantization_level: string;
  };
}

const UNKNOWN_TIME = '1970-01-01T00:00:00Z';

export function ollamaTagModel(id: string): OllamaTagModel {
  return {
    name: id,
    model: id,
    modified_at: UNKNOWN_TIME,
    size: 0,
    digest: '',
    details: { parent_model: '', format: '', family: '', families: [], parameter_size: '', quantization_level: '' },
  };
}

export function ollamaTagsBody(models: readonly { id: string }[]): { models: OllamaTagModel[] } {
  return { models: models.map((m) => ollamaTagModel(m.id)) };
}
