import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** What a request does, as faults and counters see it. */
export const REQUEST_KINDS = [
  'token',
  'revoke',
  'authorize',
  'about',
  'list',
  'create',
  'metadata',
  'media',
  'delete',
  'create-session',
  'upload-chunk',
  'status-query',
  'cancel-session',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

const kindSchema = z.enum(REQUEST_KINDS);

const faultSchema = z.discriminatedUnion('type', [
  /**
   * Any status with Google's error body. `afterCommit` (upload chunks only): the chunk is
   * stored as usual and only the reply is replaced — a lost acknowledgement.
   */
  z.object({
    type: z.literal('http-error'),
    status: z.number().int().min(400).max(599),
    reason: z.string().optional(),
    message: z.string().optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    afterCommit: z.boolean().optional(),
  }),
  /** 403 with reason `userRateLimitExceeded` (default) or `rateLimitExceeded`. */
  z.object({
    type: z.literal('rate-limit'),
    reason: z.enum(['userRateLimitExceeded', 'rateLimitExceeded']).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
  }),
  /** 429 Too Many Requests. */
  z.object({ type: z.literal('too-many-requests'), retryAfterSeconds: z.number().int().min(0).optional() }),
  /** 403 `storageQuotaExceeded`, whatever the account's real usage. */
  z.object({ type: z.literal('storage-quota') }),
  /**
   * The socket is destroyed after `afterBytes` bytes of the request body (upload chunks: the
   * 256 KiB-aligned part of what arrived is committed first) or of the response body (media).
   * Other kinds lose the connection before any reply.
   */
  z.object({ type: z.literal('drop-connection'), afterBytes: z.number().int().min(0).optional() }),
  /** The upload session the request names expires now (404 from then on). */
  z.object({ type: z.literal('expire-session') }),
  /** Waits before handling the request normally; does not stop other faults from applying. */
  z.object({ type: z.literal('latency'), ms: z.number().int().min(0).max(600_000) }),
]);
export type Fault = z.infer<typeof faultSchema>;

export const faultRuleSchema = z.object({
  /** Which requests the rule applies to. */
  on: z.union([kindSchema, z.array(kindSchema).min(1)]),
  /** Only requests of this account (requests whose account is unknown never match). */
  account: z.string().optional(),
  /** How many matching requests it affects; null means every one until cleared. Default 1. */
  times: z.number().int().min(1).nullable().optional(),
  fault: faultSchema,
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export interface ActiveFault {
  id: string;
  on: RequestKind[];
  account?: string;
  /** Null: unlimited. */
  remaining: number | null;
  fault: Fault;
}

/** What applies to one request: a delay, then at most one terminal fault. */
export interface FaultDecision {
  latencyMs: number;
  fault?: Fault;
}

/**
 * Fault rules in the order they were added. Each matching request uses up one
 * count; latency rules add up, and the first other rule that matches is the one
 * applied.
 */
export class FaultBook {
  private rules: ActiveFault[] = [];

  add(input: FaultRule): string {
    const rule = faultRuleSchema.parse(input);
    const active: ActiveFault = {
      id: randomUUID(),
      on: Array.isArray(rule.on) ? rule.on : [rule.on],
      remaining: rule.times === null ? null : (rule.times ?? 1),
      fault: rule.fault,
    };
    if (rule.account !== undefined) active.account = rule.account;
    this.rules.push(active);
    return active.id;
  }

  clear(): void {
    this.rules = [];
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r, on: [...r.on] }));
  }

  take(kind: RequestKind, accountId: string | undefined): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const rule of this.rules) {
      if (!rule.on.includes(kind)) continue;
      if (rule.account !== undefined && rule.account !== accountId) continue;
      if (rule.fault.type === 'latency') {
        decision.latencyMs += rule.fault.ms;
      } else if (decision.fault === undefined) {
        decision.fault = rule.fault;
      } else {
        continue;
      }
      if (rule.remaining !== null) rule.remaining -= 1;
    }
    this.rules = this.rules.filter((r) => r.remaining === null || r.remaining > 0);
    return decision;
  }
}
