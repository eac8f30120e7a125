import { describe, expect, it } from 'vitest';
import { googleSchemaToJsonSchema } from './schema.js';

describe('googleSchemaToJsonSchema', () => {
  it('lower-cases types and converts nested properties, items and anyOf', () => {
    expect(
      googleSchemaToJsonSchema({
        type: 'OBJECT',
        description: 'A person',
        properties: {
          name: { type: 'STRING', format: 'enum', enum: ['a', 'b'] },
          tags: { type: 'ARRAY', items: { type: 'STRING' }, minItems: '1', maxItems: 5 },
          value: { anyOf: [{ type: 'NUMBER' }, { type: 'BOOLEAN' }] },
        },
        required: ['name'],
        propertyOrdering: ['name', 'tags'],
      }),
    ).toEqual({
      type: 'object',
      description: 'A person',
      properties: {
        name: { type: 'string', format: 'enum', enum: ['a', 'b'] },
        tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 5 },
        value: { anyOf: [{ type: 'number' }, { type: 'boolean' }] },
      },
      required: ['name'],
    });
  });

  it('nullable becomes a null type (and a null enum value); without a type, a null alternative', () => {
    expect(googleSchemaToJsonSchema({ type: 'INTEGER', nullable: true })).toEqual({ type: ['integer', 'null'] });
    expect(googleSchemaToJsonSchema({ type: 'STRING', enum: ['x'], nullable: true })).toEqual({ type: ['string', 'null'], enum: ['x', null] });
    expect(googleSchemaToJsonSchema({ anyOf: [{ type: 'STRING' }], nullable: true })).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    expect(googleSchemaToJsonSchema({ type: 'STRING', nullable: false })).toEqual({ type: 'string' });
  });

  it('example becomes examples; TYPE_UNSPECIFIED and lower-case types are handled; unknown keys kept', () => {
    expect(googleSchemaToJsonSchema({ type: 'TYPE_UNSPECIFIED', example: 3, minimum: 1, title: 't' })).toEqual({ examples: [3], minimum: 1, title: 't' });
    expect(googleSchemaToJsonSchema({ type: 'string', maxLength: 'ten' })).toEqual({ type: 'string', maxLength: 'ten' });
  });
});
