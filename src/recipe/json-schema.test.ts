import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../test/helpers/corpus.js';
import { STEP_DEFINITIONS } from '../steps/index.js';
import { generateRecipeJsonSchema, RECIPE_SCHEMA_DRAFT, renderRecipeJsonSchema } from './json-schema.js';

type Schema = Record<string, unknown>;

// Draft 2020-12 keywords (core, applicator, validation, meta-data, format); anything else is a typo
// or an older draft's spelling (definitions, dependencies, items as an array...).
const KEYWORDS = new Set(
  (
    '$schema $id $ref $defs $anchor $dynamicRef $dynamicAnchor $comment $vocabulary title description default examples deprecated readOnly writeOnly ' +
    'type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern format maxItems minItems uniqueItems ' +
    'maxContains minContains maxProperties minProperties required dependentRequired properties patternProperties additionalProperties propertyNames ' +
    'items prefixItems contains allOf anyOf oneOf not if then else dependentSchemas unevaluatedItems unevaluatedProperties contentEncoding contentMediaType'
  ).split(' '),
);
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'string', 'integer']);
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const SCHEMA_VALUES = ['additionalProperties', 'propertyNames', 'items', 'contains', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];

function checkStructure(root: Schema): void {
  const visit = (node: unknown, where: string): void => {
    if (typeof node === 'boolean') return;
    assert.ok(node !== null && typeof node === 'object' && !Array.isArray(node), `${where}: a schema must be an object or a boolean`);
    const schema = node as Schema;
    for (const [key, value] of Object.entries(schema)) {
      assert.ok(KEYWORDS.has(key), `${where}: '${key}' is not a draft 2020-12 keyword`);
      if (key === 'type') for (const t of [value].flat()) assert.ok(TYPES.has(t as string), `${where}: bad type ${t}`);
      if (key === 'required') assert.ok(Array.isArray(value) && value.every((v) => typeof v === 'string'), `${where}: required`);
      if (key === 'enum') assert.ok(Array.isArray(value) && value.length > 0, `${where}: enum`);
      if (key === 'pattern') assert.doesNotThrow(() => new RegExp(value as string, 'u'), `${where}: pattern`);
      if (['minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems'].includes(key)) assert.equal(typeof value, 'number', `${where}: ${key}`);
      if (key === '$ref') {
        assert.match(value as string, /^#(\/\$defs\/[^/]+)?$/, `${where}: only local refs`);
        const name = (value as string).split('/')[2];
        if (name) assert.ok((root.$defs as Schema | undefined)?.[name], `${where}: $ref ${value} resolves`);
      }
      if (SCHEMA_MAPS.includes(key)) for (const [k, v] of Object.entries(value as Schema)) visit(v, `${where}.${key}.${k}`);
      if (SCHEMA_VALUES.includes(key)) visit(value, `${where}.${key}`);
      if (SCHEMA_LISTS.includes(key)) {
        assert.ok(Array.isArray(value) && value.length > 0, `${where}: ${key} is a non-empty list`);
        for (const [i, v] of value.entries()) visit(v, `${where}.${key}[${i}]`);
      }
    }
    if (Array.isArray(schema.required) && schema.properties) {
      for (const name of schema.required as string[]) assert.ok(name in (schema.properties as Schema), `${where}: required '${name}' is a property`);
    }
  };
  visit(root, '#');
}

/** A validator for the keywords the generated schema uses; enough to check real recipe files. */
function validate(schema: Schema, value: unknown, where = '#'): string[] {
  const errors: string[] = [];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (schema.type !== undefined) {
    const actual = typeOf(value);
    const ok = [schema.type].flat().some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) return [`${where}: expected ${schema.type}, got ${actual}`];
  }
  if ('const' in schema && schema.const !== value) errors.push(`${where}: expected ${schema.const}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${where}: not in enum`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < (schema.minLength as number)) errors.push(`${where}: too short`);
    if (schema.maxLength !== undefined && value.length > (schema.maxLength as number)) errors.push(`${where}: too long`);
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value)) errors.push(`${where}: pattern`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < (schema.minimum as number)) errors.push(`${where}: below minimum`);
    if (schema.maximum !== undefined && value > (schema.maximum as number)) errors.push(`${where}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < (schema.minItems as number)) errors.push(`${where}: too few items`);
    if (schema.items) for (const [i, v] of value.entries()) errors.push(...validate(schema.items as Schema, v, `${where}[${i}]`));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in object)) errors.push(`${where}: missing ${name}`);
    for (const [key, v] of Object.entries(object)) {
      if (properties[key]) errors.push(...validate(properties[key], v, `${where}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${where}: unknown key ${key}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(schema.additionalProperties as Schema, v, `${where}.${key}`));
      if (schema.propertyNames) errors.push(...validate(schema.propertyNames as Schema, key, `${where}.${key} (name)`));
    }
  }
  if (schema.anyOf && !(schema.anyOf as Schema[]).some((s) => validate(s, value, where).length === 0)) errors.push(`${where}: matches no anyOf branch`);
  if (schema.oneOf && (schema.oneOf as Schema[]).filter((s) => validate(s, value, where).length === 0).length !== 1)
    errors.push(`${where}: does not match exactly one oneOf branch`);
  return errors;
}

test('the checked-in schema/recipe.schema.json equals what the zod schema generates (run scripts/write-recipe-schema.mjs)', async () => {
  const checkedIn = await readFile(join(repoRoot, 'schema', 'recipe.schema.json'), 'utf8');
  assert.equal(checkedIn, renderRecipeJsonSchema());
});

test('the JSON Schema is structurally valid draft 2020-12', () => {
  const schema = generateRecipeJsonSchema();
  assert.equal(schema.$schema, RECIPE_SCHEMA_DRAFT);
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  checkStructure(schema);
});

test('the JSON Schema lists every step kind the build knows, built-ins first', () => {
  const schema = generateRecipeJsonSchema() as { properties: { steps: { items: { oneOf: { properties: { type: { const: string } } }[] } } } };
  const kinds = schema.properties.steps.items.oneOf.map((s) => s.properties.type.const);
  assert.deepEqual(kinds.slice(0, 3), ['registry', 'files', 'remove-files']);
  assert.deepEqual([...kinds].sort(), Object.keys(STEP_DEFINITIONS).sort());
});

test('the example recipes, as written, validate against the JSON Schema; broken ones do not', async () => {
  const schema = generateRecipeJsonSchema();
  const examples = join(repoRoot, 'examples', 'recipes');
  for (const name of (await readdir(examples)).filter((n) => n.endsWith('.yaml'))) {
    assert.deepEqual(validate(schema, parse(await readFile(join(examples, name), 'utf8'))), [], name);
  }
  assert.notDeepEqual(validate(schema, { version: 1, steps: [{ type: 'nope' }] }), []);
  assert.notDeepEqual(validate(schema, { version: 1, colour: 'blue' }), []);
  assert.notDeepEqual(validate(schema, { version: 1, outputs: { swm: { path: 'a', partSizeMb: 5000 } } }), []);
});
