//! Design (not yet implemented): XCM into JAM transfers and back (issue 21,
//! item 2). Nothing in this module runs; it records the design the
//! implementation will follow, with the GP 0.7.2 host calls it uses.
//!
//! # Out: a message leaves the service as a deferred transfer
//!
//! Two cases, both found when accumulate enacts a para's candidate
//! ([`crate::accumulate`]):
//!
//! - a horizontal message to a para that this instance does not host but
//!   another CoreChains instance does (a route table in storage,
//!   `RemoteRoute(para) → service id`, set by the registrar);
//! - an upward XCM that moves value to a JAM service account:
//!   `WithdrawAsset(relay token, a)`, fee instructions, then
//!   `DepositAsset` to a location naming a JAM service
//!   (`GeneralIndex(service id)` under the relay chain).
//!
//! For each, accumulate:
//!
//! 1. writes the payload into its own storage under
//!    `Outbox(destination service, sequence)` with `write` (GP B.7,
//!    `Ω_W`; a value, never zero octets, which would remove the key);
//! 2. queues a deferred transfer with `transfer` (index 20, `Ω_T`: `ω7`
//!    destination, `ω8` amount — the value moved, or the minimum for a
//!    plain message —, `ω9` gas: the destination's minimum memo gas read
//!    with `info` (`Ω_I`), `ω10` the memo, `W_T` = 128 octets);
//! 3. the memo identifies the message: version (1 octet), kind (1: HRMP
//!    message, value transfer, bounce), source para (4), destination para
//!    or beneficiary service (4), per-channel sequence number (8), the
//!    timeslot sent (4), Blake2b-256 of the payload (32), payload length
//!    (4), zero padding to 128.
//!
//! A transfer `transfer` refuses (`LOW`: gas under the destination's
//! minimum; `CASH`: the service cannot pay; `WHO`: no such service) rejects
//! the candidate with a typed reason before any effect, as every messaging
//! check does (validate first, then apply).
//!
//! # In: a transfer becomes a message to a para
//!
//! Deferred transfers reach the destination's accumulate as inputs (GP
//! `I = U ∪ X`, read with `fetch`, `Ω_Y`, the inputs' kinds). For each:
//!
//! - from another CoreChains instance (its service id in a `PeerServices`
//!   list) with kind HRMP: the payload is read from the sender's storage
//!   with `read` (`Ω_R` with `ω7` = the sender's id: accumulate may read any
//!   service's storage) under `Outbox(own id, sequence)`, its hash checked
//!   against the memo, and appended to the inbound channel
//!   `(source para → destination para)` of this instance with the same
//!   MQC semantics as a local channel (`parajam_xcm_adapter::mqc`,
//!   `sent_at` = the timeslot it arrives): the recipient's collator
//!   delivers it like any horizontal message. The sequence number must be
//!   the channel's next one (kept per `(source service, source para,
//!   destination para)`), so each message is delivered exactly once and
//!   in order; the sender removes `Outbox` entries once the recipient's
//!   watermark passed them (read back with `read` of the recipient
//!   instance's storage).
//! - from any other service: a downward XCM to the para the memo names,
//!   `[ReserveAssetDeposited((Parent, amount)), ClearOrigin,
//!   BuyExecution((Parent, fee)), DepositAsset(All, beneficiary)]` in the
//!   relay token (the location the para's XCM config treats as its
//!   reserve asset), queued with `dmp::queue` (the usual size and queue
//!   limits).
//! - a malformed memo, an unknown para, a hash mismatch or a full queue:
//!   the value goes back with a bounce transfer (`transfer` to the sender,
//!   the same amount, kind bounce, the original memo's hash and a reason
//!   code), and the reason is logged; nothing is queued.
//!
//! Limits with typed reasons: message size (the channel's), channel
//! capacity, downward queue size, transfers per report (accumulate's gas:
//! each `transfer` costs `10 + gas`).
//!
//! # Status and what remains (issue 21, item 2)
//!
//! In place: the downward half of "in" has its queueing path — a
//! registrar work package with a [`parajam_corechains_types::DownwardMessage`]
//! item is appended to a para's downward queue by accumulate with the
//! `dmp` semantics (`parajam_xcm_adapter::dmp::queue`, typed refusals in
//! [`crate::accumulate::Rejection::Downward`]), and the collator delivers
//! it; relay governance's upgrades use it. A transfer-made message would be
//! queued the same way. Not in place, in the order to build it:
//!
//! 1. `AccumulateHost` gains `transfer(dest, amount, gas, memo) -> Result<(),
//!    TransferRefusal>` (`Ω_T`, index 20; `LOW`/`CASH`/`WHO` as typed
//!    refusals) and `info(service) -> Option<min_memo_gas>` (`Ω_I`), with
//!    the service program implementing them through `jam-pvm-common` and
//!    `testing::MemStorage` recording the transfers;
//! 2. the program stops dropping `AccumulateItem::Transfer` inputs: they
//!    become `accumulate::Item`s of a second kind (source service, amount,
//!    memo), handled as "In" above;
//! 3. `parajam_xcm_adapter::xcm` decodes `WithdrawAsset`/`DepositAsset`
//!    fully (a fungible amount of the relay token `(1, Here)` as the para
//!    sends it, `Wild(AllCounted(1))`, and a beneficiary
//!    `(0, GeneralIndex(service))` under the relay chain) instead of
//!    skipping them, and `ump::execute` maps that shape onto a transfer
//!    (refused with a recorded `UpwardRefusal` otherwise, as today);
//!    the value leaves the para's sovereign balance, which the service
//!    would have to keep per para (a `SovereignBalance(para)` entry, funded
//!    by "In" transfers) so that a para cannot move more than it holds;
//! 4. the memo layout above, encoded and decoded in
//!    `parajam-corechains-types`, with the bounce path;
//! 5. tests: the accumulate rules on `MemStorage` (mapped, refused, bounced,
//!    over the limits), then end to end on a dev chain with a second,
//!    minimal service receiving the transfer (its balance read from the
//!    JAM state), and the reverse direction into a para's downward queue.
