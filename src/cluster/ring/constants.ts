// Defaults of ring placement, applied with `??`.

/** Virtual nodes a member places on the ring unless its member record says otherwise. */
export const DEFAULT_VNODES = 128

/**
 * Ring tokens placed per virtual node. Random placement of only 128 tokens per member
 * leaves the most loaded of 64 members above 1.3× its fair share in ~5% of memberships
 * (share ~ Gamma(128): coefficient of variation 1/√128 ≈ 9%). Four tokens per vnode
 * (512 per member) cut that spread in half and made the 1.3× bound hold in every one of
 * thousands of sampled memberships, while placement stays a pure function of each
 * member's own id, so a join moves keys only to the joining member. See
 * test/cluster/measure-ring-balance.ts.
 */
export const TOKENS_PER_VNODE = 4
