// JSON schemas of every route: fastify validates requests with them (Ajv, with type
// coercion and removal of unknown properties turned off, so `"amount": "5"` or a stray
// field is refused rather than silently fixed) and serializes replies with them.
// Query strings stay strings and are parsed by the routes after validation.
import type { FastifySchemaValidationError } from 'fastify'
import { MAX_MAP_DEPTH } from '../../crdts/ormap.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { CRDT_TYPE_NAMES, FIELD_TYPE_NAMES, OPERATIONS_OF } from '../../src/base/operations.js'
import { MAX_TOKEN_CHARS } from '../../src/replica/session-token.js'
import { MAX_TTL_MS } from '../../src/base/validation.js'
import { echo } from './echo.js'

/** Ajv options for every route: validate, never rewrite the request. */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } as const

export const MAX_BODY_BYTES = 1024 * 1024
/** Writes in one POST /v1/batch. */
export const MAX_BATCH_WRITES = 1000
/**
 * Body limit of POST /v1/batch: 1,000 writes of values averaging up to ~16 KiB. Not
 * 1,000 × 64 KiB: a parsed body takes several times its size in memory.
 */
export const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024
/** Keys are at most 1,024 UTF-8 bytes; longer ones must reach the handler to get a clear 400. */
export const MAX_PARAM_LENGTH = 8 * 1024
export const DEFAULT_KEYS_LIMIT = 100

const ANY_JSON = {}
const POSITIVE_SMALL_INT = { type: 'string', pattern: '^[1-9][0-9]{0,2}$' }
const KEYS_LIMIT = { type: 'string', pattern: '^(?:[1-9][0-9]{0,3}|10000)$' }
/** How a failed pattern is explained (Ajv reports only the pattern). */
const PATTERN_MEANING = new Map<string, string>([
  [POSITIVE_SMALL_INT.pattern, 'an integer from 1 to 999'],
  [KEYS_LIMIT.pattern, 'an integer from 1 to 10000'],
])

/** What each type accepts besides `type` and `op`: counters take an amount, sets an element, registers a value, maps a field path. */
export const ARGUMENT_OF = { gcounter: 'amount', pncounter: 'amount', orset: 'element', lww: 'value', map: 'path' } as const
const ARGUMENTS = ['amount', 'element', 'value', 'path', 'update'] as const

/**
 * Per-type rules, in two passes over `types` so that a wrong op is reported before a
 * missing argument: rule i applies to type types[i % types.length] (formatSchemaError).
 */
const ifType = (type: string) => ({ type: 'object', properties: { type: { const: type } } })
const typeRules = (types: readonly CrdtTypeName[]) => [
  ...types.map((type) => ({ if: ifType(type), then: { type: 'object', properties: { op: { enum: OPERATIONS_OF[type] } } } })),
  ...types.map((type) => {
    const argument = ARGUMENT_OF[type]
    const allowed: readonly string[] = type === 'map' ? ['path', 'update'] : [argument]
    const forbidden = Object.fromEntries(ARGUMENTS.filter((a) => !allowed.includes(a)).map((a) => [a, false]))
    return {
      if: ifType(type),
      // Counters default to amount 1; a set needs its element, a register its value (null included), a map write its path.
      then: { type: 'object', properties: forbidden, ...(argument === 'amount' ? {} : { required: [argument] }) },
    }
  }),
]

const ifMapOp = (op: string) => ({ type: 'object', properties: { type: { const: 'map' }, op: { const: op } } })
/** After the per-type rules: a map update names its field write, a map remove does not. */
const MAP_RULES = [
  { if: ifMapOp('update'), then: { type: 'object', required: ['update'] } },
  { if: ifMapOp('remove'), then: { type: 'object', properties: { update: false } } },
]

/** The field write of a map update: a write of one of the four field types. */
const fieldWriteSchema = {
  type: 'object',
  required: ['type', 'op'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: FIELD_TYPE_NAMES },
    op: { type: 'string', enum: ['increment', 'decrement', 'add', 'remove', 'set'] },
    amount: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    element: ANY_JSON,
    value: ANY_JSON,
  },
  allOf: typeRules(FIELD_TYPE_NAMES),
} as const

export const writeBodySchema = {
  type: 'object',
  required: ['type', 'op'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: CRDT_TYPE_NAMES },
    op: { type: 'string', enum: ['increment', 'decrement', 'add', 'remove', 'set', 'update'] },
    amount: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    element: ANY_JSON,
    value: ANY_JSON,
    path: { type: 'array', minItems: 1, maxItems: MAX_MAP_DEPTH, items: { type: 'string', minLength: 1 } },
    update: fieldWriteSchema,
    /** Time to live in milliseconds (README, "Expiry"). */
    ttl: { type: 'integer', minimum: 1, maximum: MAX_TTL_MS },
  },
  allOf: [...typeRules(CRDT_TYPE_NAMES), ...MAP_RULES],
} as const

const IDEMPOTENCY_KEY = { type: 'string', minLength: 1, maxLength: 256 } as const

/** One item of a batch: a write body plus its key and, optionally, its idempotency key. */
const batchItemSchema = {
  ...writeBodySchema,
  required: ['key', 'type', 'op'],
  properties: { key: { type: 'string', minLength: 1 }, ...writeBodySchema.properties, idempotencyKey: IDEMPOTENCY_KEY },
} as const

export const batchBodySchema = {
  type: 'object',
  required: ['writes'],
  additionalProperties: false,
  properties: { writes: { type: 'array', minItems: 1, maxItems: MAX_BATCH_WRITES, items: batchItemSchema } },
} as const

export const keyParamsSchema = {
  type: 'object',
  required: ['key'],
  properties: { key: { type: 'string', minLength: 1 } },
} as const

export const writeQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    w: POSITIVE_SMALL_INT,
    requireQuorum: { type: 'string', enum: ['true', 'false'] },
  },
} as const

export const writeHeadersSchema = {
  type: 'object',
  properties: { 'idempotency-key': IDEMPOTENCY_KEY },
} as const

export const readQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    r: POSITIVE_SMALL_INT,
    token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_CHARS },
    requireQuorum: { type: 'string', enum: ['true', 'false'] },
    /** A page of a set: its elements after this one (JSON text of an element), at most `limit`. */
    after: { type: 'string', maxLength: 96 * 1024 },
    limit: KEYS_LIMIT,
  },
} as const

/** The query string of a route that takes none: every parameter is unknown (server.ts adds it to such routes). */
export const noQuerySchema = { type: 'object', additionalProperties: false, properties: {} } as const

export const watchQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: { type: 'string', maxLength: 4096 },
    /** A cursor an earlier event gave (its `id`): the feed resumes after it. */
    since: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const

export const keysQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: { type: 'string', maxLength: 4096 },
    /** Pagination: keys strictly after this one. */
    after: { type: 'string', maxLength: 4096 },
    limit: KEYS_LIMIT,
  },
} as const

const errorResponse = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        acks: { type: 'integer' },
        required: { type: 'integer' },
        values: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, value: ANY_JSON } } },
      },
    },
  },
} as const

const crdtType = { type: 'string', enum: CRDT_TYPE_NAMES } as const

export const resolveBodySchema = {
  type: 'object',
  required: ['keep'],
  additionalProperties: false,
  properties: { keep: crdtType },
} as const

export const resolveResponseSchema = {
  200: {
    type: 'object',
    required: ['key', 'type', 'value', 'acks', 'quorum'],
    properties: { key: { type: 'string' }, type: crdtType, value: ANY_JSON, acks: { type: 'integer' }, quorum: { type: 'boolean' } },
  },
} as const

export const writeResponseSchema = {
  200: {
    type: 'object',
    // `value` is absent for a set of more than 1,000 elements (`size` says how many).
    required: ['key', 'type', 'token'],
    properties: {
      key: { type: 'string' },
      type: crdtType,
      value: ANY_JSON,
      size: { type: 'integer' },
      // Absent on an idempotent replay: the first write's acks were not recorded.
      acks: { type: 'integer' },
      quorum: { type: 'boolean' },
      token: { type: 'string' },
      replayed: { type: 'boolean' },
    },
  },
} as const

export const deleteResponseSchema = {
  200: {
    type: 'object',
    required: ['key', 'deleted'],
    properties: {
      key: { type: 'string' },
      // Whether the replica that applied the delete held anything visible of the key.
      deleted: { type: 'boolean' },
      // Absent on an idempotent replay.
      acks: { type: 'integer' },
      quorum: { type: 'boolean' },
      replayed: { type: 'boolean' },
      // Read your delete: GET ?token= waits until the replicas it joins include it.
      token: { type: 'string' },
    },
  },
} as const

export const batchResponseSchema = {
  200: {
    type: 'object',
    required: ['results'],
    properties: {
      results: {
        type: 'array',
        // An ok item has the fields of a single write's reply, a failed one has `error`.
        items: {
          type: 'object',
          required: ['key', 'type', 'ok'],
          properties: { ...writeResponseSchema[200].properties, ok: { type: 'boolean' }, error: errorResponse.properties.error },
        },
      },
    },
  },
} as const

export const readResponseSchema = {
  200: {
    type: 'object',
    required: ['key', 'type', 'value', 'replicas'],
    properties: { key: { type: 'string' }, type: crdtType, value: ANY_JSON, replicas: { type: 'integer' }, size: { type: 'integer' }, next: ANY_JSON },
  },
  404: errorResponse,
  409: errorResponse,
} as const

export const keysResponseSchema = {
  200: {
    type: 'object',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        items: { type: 'object', required: ['key', 'type'], properties: { key: { type: 'string' }, type: crdtType } },
      },
    },
  },
} as const

export const membersResponseSchema = {
  200: {
    type: 'object',
    required: ['self', 'members'],
    properties: {
      self: { type: 'string' },
      members: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'addrs', 'status', 'vnodes'],
          properties: {
            id: { type: 'string' },
            addrs: { type: 'array', items: { type: 'string' } },
            status: { type: 'string', enum: ['alive', 'suspect', 'left'] },
            vnodes: { type: 'integer' },
          },
        },
      },
    },
  },
} as const

/** A group of counters. */
const counters = { type: 'object', additionalProperties: { type: 'number' } } as const

/**
 * Every number of the engine's status, whatever parts and counters it has (status-view.ts
 * builds the answer from db.status()): the groups below are the ones clients may rely on,
 * any other field is a number or a group of counters.
 */
export const statusResponseSchema = {
  200: {
    type: 'object',
    required: ['id', 'networked', 'keys', 'pendingHints', 'members', 'antiEntropy', 'gossip', 'handoff', 'coordinator'],
    properties: {
      id: { type: 'string' },
      networked: { type: 'boolean' },
      keys: { type: 'integer' },
      pendingHints: { type: 'integer' },
      members: counters,
      antiEntropy: counters,
      gossip: counters,
      handoff: counters,
      coordinator: counters,
    },
    additionalProperties: { anyOf: [{ type: 'number' }, counters] },
  },
} as const

export const okResponseSchema = {
  200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
} as const

export const readyResponseSchema = {
  200: okResponseSchema[200],
  503: {
    type: 'object',
    required: ['ok', 'failing', 'error'],
    properties: {
      ok: { type: 'boolean' },
      failing: { type: 'array', items: { type: 'string', enum: ['sqlite', 'network', 'clock'] } },
      error: errorResponse.properties.error,
    },
  },
} as const

/**
 * Turns Ajv's first error into a sentence: where, what was expected, and for which type
 * (the per-type rules are `allOf[i]`, see TYPE_RULES).
 */
export function formatSchemaError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0]
  if (first === undefined) return new Error(`${dataVar} is invalid`)
  // Array items read as in JavaScript: body.writes[3].amount.
  const where = dataVar + first.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('')
  const params = first.params as Record<string, unknown>
  // The rules are nested in a batch: #/properties/writes/items/allOf/i/then/….
  const rule = /\/allOf\/(\d+)\/then\/(?!.*\/allOf\/)/.exec(first.schemaPath)
  // Rules inside a map's `update` are over the field types; the top-level ones over every
  // type, then the map rules.
  const types: readonly CrdtTypeName[] = first.schemaPath.includes('/properties/update/') ? FIELD_TYPE_NAMES : CRDT_TYPE_NAMES
  const index = rule === null ? undefined : Number(rule[1])
  const type = index === undefined ? undefined : index >= 2 * types.length ? 'map' : types[index % types.length]
  const forType = type === undefined ? '' : ` for type ${type}`
  let text: string
  switch (first.keyword) {
    case 'enum':
      text = `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${forType}`
      break
    case 'false schema':
      text = type === undefined ? `${where} is not allowed` : `${where} is not allowed for type ${type}: it takes "${ARGUMENT_OF[type]}"`
      break
    case 'required':
      text = `${where} must have "${String(params.missingProperty)}"${forType}`
      break
    case 'additionalProperties':
      text = `${where} has an unknown property ${echo(String(params.additionalProperty))}`
      break
    case 'minItems':
      text = `${where} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`
      break
    case 'maxItems':
      text = `${where} must have at most ${String(params.limit)} items; send the rest in another request`
      break
    case 'pattern':
      text = `${where} must be ${PATTERN_MEANING.get(String(params.pattern)) ?? `a string matching ${String(params.pattern)}`}`
      break
    default:
      text = `${where} ${first.message ?? 'is invalid'}${forType}`
  }
  return new Error(text)
}

const hexDigest = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const

export const syncResponseSchema = {
  200: {
    type: 'object',
    required: ['digest', 'keys', 'ranges', 'peers', 'synced', 'unreconciled'],
    properties: {
      digest: hexDigest,
      keys: { type: 'integer' },
      ranges: {
        type: 'array',
        items: {
          type: 'object',
          required: ['replicas', 'keys', 'digest'],
          properties: { replicas: { type: 'array', items: { type: 'string' } }, keys: { type: 'integer' }, digest: hexDigest },
        },
      },
      // Every member sharing ranges with this node; lastExchange is absent until one happened.
      peers: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'status', 'inSync', 'pendingHints'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['alive', 'suspect', 'left'] },
            inSync: { type: 'boolean' },
            reason: { type: 'string' },
            lastExchange: { type: 'string' },
            pendingHints: { type: 'integer' },
          },
        },
      },
      synced: { type: 'boolean' },
      reason: { type: 'string' },
      unreconciled: {
        type: 'array',
        items: {
          type: 'object',
          required: ['key', 'reason', 'peer', 'since'],
          properties: { key: { type: 'string' }, reason: { type: 'string' }, peer: { type: 'string' }, since: { type: 'string' } },
        },
      },
    },
  },
} as const
