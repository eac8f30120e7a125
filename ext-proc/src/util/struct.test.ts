import { describe, expect, it } from 'vitest';
import { toStruct } from './struct.js';

describe('toStruct', () => {
  it('converts scalars to google.protobuf.Value kinds', () => {
    expect(toStruct({ s: 'x', n: 1.5, i: 0, t: true, f: false, z: null })).toEqual({
      fields: {
        s: { stringValue: 'x' },
        n: { numberValue: 1.5 },
        i: { numberValue: 0 },
        t: { boolValue: true },
        f: { boolValue: false },
        z: { nullValue: 'NULL_VALUE' },
      },
    });
  });

  it('drops undefined fields (at every level)', () => {
    expect(toStruct({ a: undefined, b: 'kept', nested: { c: undefined, d: 1 } })).toEqual({
      fields: { b: { stringValue: 'kept' }, nested: { structValue: { fields: { d: { numberValue: 1 } } } } },
    });
  });

  it('nests objects as structValue and arrays as listValue', () => {
    expect(toStruct({ llm_gateway: { tenant: 'acme', tags: ['a', 2, null, { k: true }] } })).toEqual({
      fields: {
        llm_gateway: {
          structValue: {
            fields: {
              tenant: { stringValue: 'acme' },
              tags: {
                listValue: {
                  values: [{ stringValue: 'a' }, { numberValue: 2 }, { nullValue: 'NULL_VALUE' }, { structValue: { fields: { k: { boolValue: true } } } }],
                },
              },
            },
          },
        },
      },
    });
  });

  it('undefined inside an array becomes null (arrays keep their positions)', () => {
    expect(toStruct({ l: [undefined, 1] })).toEqual({ fields: { l: { listValue: { values: [{ nullValue: 'NULL_VALUE' }, { numberValue: 1 }] } } } });
  });

  it('an empty object is an empty struct', () => {
    expect(toStruct({})).toEqual({ fields: {} });
    expect(toStruct({ e: {}, l: [] })).toEqual({ fields: { e: { structValue: { fields: {} } }, l: { listValue: { values: [] } } } });
  });
});
