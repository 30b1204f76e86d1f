//! Authorization: the authorizer pools `α` and queues `φ` (GP §8
//! "Authorization", eq. 8.1 – 8.3).
//!
//! For every core `c`, once per block (after accumulation has fixed `φ'`):
//!
//! * `F(c)`: if a guarantee in `E_G` is for core `c`, the left-most
//!   occurrence of its authorizer hash is removed from `α[c]` (eq. 8.3,
//!   `⊖` of the notation section); otherwise `α[c]` stays;
//! * `α'[c] = ←(F(c) ⌢ φ'[c][H_T mod Q])^O`: the queue's entry for this
//!   slot is appended and only the last `O` entries are kept (eq. 8.2).
//!
//! The guarantees are given as `(core, authorizer hash)` pairs, as in the STF
//! vectors' `CoreAuthorizers` (derived from `E_G`: `(g_r)_c`, `(g_r)_a`).

use jam_codec::{Decode, Encode};
use parajam_primitives::types::{AuthPools, AuthQueues, CoreIndex, OpaqueHash, TimeSlot};
use parajam_primitives::ProtocolParameters;

/// The authorization part of the state, as in the STF vectors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// `α`.
    pub auth_pools: AuthPools,
    /// `φ'`: the post-accumulation queues (read only here).
    pub auth_queues: AuthQueues,
}

/// A guarantee's core and the authorizer hash its report was authorized by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode)]
pub struct CoreAuthorizer {
    /// `(g_r)_c`.
    pub core: CoreIndex,
    /// `(g_r)_a`.
    pub auth_hash: OpaqueHash,
}

/// What the transition reads from the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    /// `H_T`.
    pub slot: TimeSlot,
    /// The `(core, authorizer)` of every guarantee in `E_G`.
    pub auths: Vec<CoreAuthorizer>,
}

/// Why the input is malformed. The vectors have no error codes for this
/// family (`Output ::= NULL`): a valid `E_G` never triggers these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A guarantee for a core index `≥ C`.
    #[error("guarantee {index} is for core {core}, beyond the {cores} cores")]
    BadCoreIndex {
        /// Position in the input.
        index: usize,
        /// Its core.
        core: CoreIndex,
        /// `C`.
        cores: u16,
    },
    /// `α` or `φ` does not hold one entry per core, or a queue is not `Q` long.
    #[error("authorizer pools or queues have the wrong shape")]
    BadShape,
}

/// Checks the core indices and the shape of `α` and `φ`.
pub fn validate(pre: &State, input: &Input, params: &ProtocolParameters) -> Result<(), Error> {
    let cores = usize::from(params.core_count);
    let queue_len = usize::from(params.auth_queue_size);
    if pre.auth_pools.len() != cores
        || pre.auth_queues.len() != cores
        || pre.auth_queues.iter().any(|q| q.len() != queue_len)
    {
        return Err(Error::BadShape);
    }
    if let Some((index, auth)) = input
        .auths
        .iter()
        .enumerate()
        .find(|(_, a)| usize::from(a.core) >= cores)
    {
        return Err(Error::BadCoreIndex {
            index,
            core: auth.core,
            cores: params.core_count,
        });
    }
    Ok(())
}

/// `F(c)` (eq. 8.3) for every core, in place: removes the left-most
/// occurrence of each used authorizer from its core's pool.
pub fn remove_used(pools: &mut AuthPools, auths: &[CoreAuthorizer]) {
    for auth in auths {
        if let Some(pool) = pools.get_mut(usize::from(auth.core)) {
            if let Some(at) = pool.iter().position(|h| *h == auth.auth_hash) {
                pool.remove(at);
            }
        }
    }
}

/// `α'[c] = ←(F(c) ⌢ φ'[c][H_T mod Q])^O` (eq. 8.2), in place, given pools
/// already reduced by [`remove_used`].
pub fn refill(
    pools: &mut AuthPools,
    queues: &AuthQueues,
    slot: TimeSlot,
    params: &ProtocolParameters,
) {
    let max = usize::from(params.auth_pool_max_size);
    for (pool, queue) in pools.iter_mut().zip(queues.iter()) {
        if queue.is_empty() {
            continue;
        }
        let at = usize::try_from(slot).map_or(0, |slot| slot % queue.len());
        pool.push(queue[at]);
        if pool.len() > max {
            let excess = pool.len() - max;
            pool.drain(..excess);
        }
    }
}

/// The authorization transition (eq. 8.2 – 8.3). On error `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, ()), Error> {
    validate(pre, input, params)?;
    let mut post = pre.clone();
    remove_used(&mut post.auth_pools, &input.auths);
    refill(&mut post.auth_pools, &post.auth_queues, input.slot, params);
    Ok((post, ()))
}

#[cfg(test)]
mod tests {
    use parajam_primitives::types::{AuthPool, AuthQueue};
    use parajam_primitives::ByteArray;

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn h(n: u8) -> OpaqueHash {
        ByteArray([n; 32])
    }

    /// Core 0's pool `[1, 2, 1]`, core 1's pool full `[10 … 17]`; queue
    /// entries `100 + c * 100 + i` (bytes wrap).
    fn pre_state() -> State {
        let pools = vec![
            AuthPool::new(vec![h(1), h(2), h(1)]),
            AuthPool::new((10..18).map(h).collect()),
        ];
        let queues = (0..2u8)
            .map(|c| {
                AuthQueue::new(
                    (0..P.auth_queue_size)
                        .map(|i| {
                            h(c.wrapping_mul(100)
                                .wrapping_add(u8::try_from(i).expect("tiny")))
                        })
                        .collect(),
                )
            })
            .collect();
        State {
            auth_pools: AuthPools::new(pools),
            auth_queues: AuthQueues::new(queues),
        }
    }

    #[test]
    fn used_authorizer_is_removed_leftmost_and_queue_entry_appended() {
        let input = Input {
            slot: u32::from(P.auth_queue_size) + 3,
            auths: vec![CoreAuthorizer {
                core: 0,
                auth_hash: h(1),
            }],
        };
        let (post, ()) = transition(&pre_state(), &input, &P).expect("valid");
        assert_eq!(post.auth_pools[0].0, vec![h(2), h(1), h(3)]);
        // Full pool without a guarantee: the oldest entry drops out.
        let mut want: Vec<_> = (11..18).map(h).collect();
        want.push(h(103));
        assert_eq!(post.auth_pools[1].0, want);
        assert_eq!(post.auth_queues, pre_state().auth_queues);
    }

    #[test]
    fn unknown_authorizer_removes_nothing() {
        let input = Input {
            slot: 0,
            auths: vec![CoreAuthorizer {
                core: 0,
                auth_hash: h(9),
            }],
        };
        let (post, ()) = transition(&pre_state(), &input, &P).expect("valid");
        assert_eq!(post.auth_pools[0].0, vec![h(1), h(2), h(1), h(0)]);
    }

    #[test]
    fn bad_core_is_refused_and_state_untouched() {
        let pre = pre_state();
        let input = Input {
            slot: 0,
            auths: vec![CoreAuthorizer {
                core: 2,
                auth_hash: h(1),
            }],
        };
        let err = transition(&pre, &input, &P).expect_err("bad core");
        assert_eq!(
            err,
            Error::BadCoreIndex {
                index: 0,
                core: 2,
                cores: 2
            }
        );
        assert_eq!(pre, pre_state());
    }

    #[test]
    fn wrong_shape_is_refused() {
        let mut pre = pre_state();
        pre.auth_queues[1].pop();
        let input = Input::default();
        assert_eq!(transition(&pre, &input, &P), Err(Error::BadShape));
    }
}
