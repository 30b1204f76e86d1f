//! The XCM a para sends upward, decoded as far as the service maps it, and
//! the HRMP notifications it sends down.
//!
//! Not `staging-xcm` itself: it builds on `frame-support` and
//! `sp-runtime`, which do not build for the PVM target the service runs
//! on. The encodings decoded here are those of `staging-xcm` 25
//! (polkadot-sdk stable2609) for `VersionedXcm` versions 3, 4 and 5, and the
//! tests decode messages that crate encodes.
//!
//! A message is a `VersionedXcm`: the version octet, then the compact count
//! of instructions, then each instruction (its opcode, then its fields).
//! What a para sends its relay chain to manage channels is `Transact` of an
//! `hrmp` call, with fee handling around it (and, from cumulus routers, a
//! trailing `SetTopic`). Those instructions are decoded whole; any other
//! refuses the message ([`XcmError::UnsupportedInstruction`]), so the rest
//! need not be understood. The one value transfer the service maps onto
//! JAM ([`value_transfer`]) is recognised from those instructions' octets;
//! the one it sends down ([`reserve_asset_deposited`]) is encoded here.

use alloc::vec::Vec;

use parity_scale_codec::{Compact, Decode, Encode};

/// Opcodes of XCM v3, v4 and v5 instructions (the same in the three).
mod opcode {
    pub const WITHDRAW_ASSET: u8 = 0;
    pub const RESERVE_ASSET_DEPOSITED: u8 = 1;
    pub const CLEAR_ORIGIN: u8 = 10;
    pub const TRANSACT: u8 = 6;
    pub const HRMP_NEW_CHANNEL_OPEN_REQUEST: u8 = 7;
    pub const HRMP_CHANNEL_ACCEPTED: u8 = 8;
    pub const HRMP_CHANNEL_CLOSING: u8 = 9;
    pub const DEPOSIT_ASSET: u8 = 13;
    pub const BUY_EXECUTION: u8 = 19;
    pub const REFUND_SURPLUS: u8 = 20;
    pub const SET_TOPIC: u8 = 44;
    pub const UNPAID_EXECUTION: u8 = 47;
    /// v5 only.
    pub const PAY_FEES: u8 = 48;
}

/// The most instructions a message may have (`staging-xcm`'s
/// `MAX_INSTRUCTIONS_TO_DECODE`).
pub const MAX_INSTRUCTIONS: u32 = 100;

/// Why an upward message does not decode into what the service runs.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum XcmError {
    /// Not a `VersionedXcm` of version 3, 4 or 5.
    #[error("not an XCM of version 3, 4 or 5 (version octet {0})")]
    UnsupportedVersion(u8),
    /// The message is empty.
    #[error("the message is empty")]
    Empty,
    /// More than [`MAX_INSTRUCTIONS`] instructions.
    #[error("{0} instructions, more than XCM decodes")]
    TooManyInstructions(u32),
    /// The encoding is invalid (or cut short) at this octet.
    #[error("invalid XCM encoding at octet {at}")]
    Malformed {
        /// The offset in the message.
        at: u32,
    },
    /// Octets follow the message.
    #[error("{0} octets after the message")]
    TrailingOctets(u32),
    /// An instruction the service does not run.
    #[error("instruction {index} (opcode {opcode}) does not map onto the CoreChains service")]
    UnsupportedInstruction {
        /// Its position in the message.
        index: u32,
        /// Its opcode.
        opcode: u8,
    },
}

/// An instruction the service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// A fee instruction (`WithdrawAsset`, `BuyExecution`, `PayFees`,
    /// `RefundSurplus`, `DepositAsset`, `UnpaidExecution`), by opcode:
    /// decoded, and does nothing.
    Fees(u8),
    /// `ClearOrigin`.
    ClearOrigin,
    /// `SetTopic`.
    SetTopic([u8; 32]),
    /// `Transact`: the origin kind (0 native, 1 sovereign account, 2
    /// superuser, 3 XCM) and the encoded call.
    Transact {
        /// The origin kind's index.
        origin_kind: u8,
        /// The call, SCALE-encoded for the relay chain.
        call: Vec<u8>,
    },
}

/// An upward message: its version and instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpwardXcm {
    /// `VersionedXcm`'s version.
    pub version: u8,
    /// The instructions, in order.
    pub instructions: Vec<Instruction>,
    /// Each instruction's fields: their range of octets in the message.
    pub fields: Vec<core::ops::Range<usize>>,
}

/// An upward message that moves value to a JAM service: the relay token
/// withdrawn from the para's sovereign account and deposited to a
/// location naming the service (see [`value_transfer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueTransfer {
    /// The service (`GeneralIndex(service)` under the relay chain).
    pub service: u32,
    /// The amount withdrawn, all of it deposited.
    pub amount: u128,
}

/// The octets of the relay token `(0, Here)` as an `AssetId` in the relay
/// chain's context, then `Fungible`: v3 `Concrete(MultiLocation)`, v4 and
/// v5 a `Location`.
fn relay_token_fungible(version: u8) -> &'static [u8] {
    if version == 3 {
        &[0, 0, 0, 0]
    } else {
        &[0, 0, 0]
    }
}

/// The amount of a single relay-token asset `(0, Here)` at the start of
/// `octets`, and what follows it.
fn relay_token_amount(version: u8, octets: &[u8]) -> Option<(u128, &[u8])> {
    let mut rest = octets.strip_prefix(relay_token_fungible(version))?;
    let amount = Compact::<u128>::decode(&mut rest).ok()?.0;
    Some((amount, rest))
}

/// The message as a value transfer to a JAM service, if it has that shape
/// (as a para's `pallet-xcm` sends the relay token to its reserve, the
/// relay chain, in the relay chain's context): `WithdrawAsset` of one
/// asset, the relay token `(0, Here)`, fungible `a`; optionally
/// `ClearOrigin`; optionally `BuyExecution` or `PayFees` in the relay
/// token of at most `a`; `DepositAsset` of `Wild(All)` or
/// `Wild(AllCounted(1))` to `(0, X1(GeneralIndex(service)))`; optionally
/// `SetTopic`. Nothing else: a message with any other instruction, or any
/// other asset or beneficiary, is not one. On the relay chain the fees
/// would be charged; the service charges none, so all of `a` moves.
pub fn value_transfer(msg: &[u8], decoded: &UpwardXcm) -> Option<ValueTransfer> {
    let version = decoded.version;
    let mut steps = decoded
        .instructions
        .iter()
        .zip(&decoded.fields)
        .filter(|(i, _)| !matches!(i, Instruction::SetTopic(_)))
        .map(|(i, range)| (i, msg.get(range.clone()).unwrap_or_default()));
    let (Instruction::Fees(opcode::WITHDRAW_ASSET), withdraw) = steps.next()? else {
        return None;
    };
    let (amount, rest) = relay_token_amount(version, withdraw.strip_prefix(&[4])?)?;
    if !rest.is_empty() {
        return None;
    }
    let mut step = steps.next()?;
    if matches!(step.0, Instruction::ClearOrigin) {
        step = steps.next()?;
    }
    if let Instruction::Fees(op @ (opcode::BUY_EXECUTION | opcode::PAY_FEES)) = step.0 {
        let (fees, _) = relay_token_amount(version, step.1)?;
        if fees > amount || (*op == opcode::PAY_FEES && version < 5) {
            return None;
        }
        step = steps.next()?;
    }
    let (Instruction::Fees(opcode::DEPOSIT_ASSET), deposit) = step else {
        return None;
    };
    // `Wild(All)` or `Wild(AllCounted(1))`, then `(0, X1(GeneralIndex(n)))`.
    let beneficiary = deposit
        .strip_prefix(&[1, 0])
        .or_else(|| deposit.strip_prefix(&[1, 2, 4]))?;
    let mut index = beneficiary.strip_prefix(&[0, 1, 5])?;
    let service = Compact::<u128>::decode(&mut index).ok()?.0;
    if !index.is_empty() || steps.next().is_some() {
        return None;
    }
    Some(ValueTransfer {
        service: u32::try_from(service).ok()?,
        amount,
    })
}

/// The downward message that credits `beneficiary` (an `AccountId32` on
/// the para) with `amount` of the relay token, as the relay chain sends a
/// reserve transfer to a para: `VersionedXcm` v5 of
/// `[ReserveAssetDeposited((1, Here), amount), ClearOrigin,
/// BuyExecution((1, Here), amount, Unlimited), DepositAsset(Wild(AllCounted(1)),
/// (0, X1(AccountId32 { network: None, id: beneficiary })))]`, in the
/// para's context (the relay token is its parent's).
pub fn reserve_asset_deposited(amount: u128, beneficiary: &[u8; 32]) -> Vec<u8> {
    let mut out = alloc::vec![5u8];
    Compact(4u32).encode_to(&mut out);
    let relay_token = |out: &mut Vec<u8>| {
        // Location { parents: 1, interior: Here }, Fungible(amount).
        out.extend([1, 0, 0]);
        Compact(amount).encode_to(out);
    };
    out.push(opcode::RESERVE_ASSET_DEPOSITED);
    Compact(1u32).encode_to(&mut out);
    relay_token(&mut out);
    out.push(opcode::CLEAR_ORIGIN);
    out.push(opcode::BUY_EXECUTION);
    relay_token(&mut out);
    out.push(0); // WeightLimit::Unlimited
    out.push(opcode::DEPOSIT_ASSET);
    out.extend([1, 2]); // Wild(AllCounted(1))
    Compact(1u32).encode_to(&mut out);
    out.extend([0, 1, 1, 0]); // (0, X1(AccountId32 { network: None, .. }))
    out.extend(beneficiary);
    out
}

/// An HRMP notification the relay chain sends a para (a `VersionedXcm` of
/// the one instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// `HrmpNewChannelOpenRequest`: `sender` asks to open a channel to the
    /// para.
    NewChannelOpenRequest {
        /// Who asks.
        sender: u32,
        /// The largest message.
        max_message_size: u32,
        /// The most messages.
        max_capacity: u32,
    },
    /// `HrmpChannelAccepted`: `recipient` accepted the para's request.
    ChannelAccepted {
        /// Who accepted.
        recipient: u32,
    },
    /// `HrmpChannelClosing`: `initiator` closes `sender → recipient`.
    ChannelClosing {
        /// Who closes.
        initiator: u32,
        /// The channel's sender.
        sender: u32,
        /// The channel's recipient.
        recipient: u32,
    },
}

impl Notification {
    /// `VersionedXcm` `version` of the one instruction: the version octet,
    /// the count (one), the opcode and the fields, each a compact `u32`.
    pub fn encode_versioned(&self, version: u8) -> Vec<u8> {
        let mut out = alloc::vec![version];
        Compact(1u32).encode_to(&mut out);
        let (op, fields): (u8, &[u32]) = match self {
            Self::NewChannelOpenRequest {
                sender,
                max_message_size,
                max_capacity,
            } => (
                opcode::HRMP_NEW_CHANNEL_OPEN_REQUEST,
                &[*sender, *max_message_size, *max_capacity],
            ),
            Self::ChannelAccepted { recipient } => (
                opcode::HRMP_CHANNEL_ACCEPTED,
                core::slice::from_ref(recipient),
            ),
            Self::ChannelClosing {
                initiator,
                sender,
                recipient,
            } => (
                opcode::HRMP_CHANNEL_CLOSING,
                &[*initiator, *sender, *recipient],
            ),
        };
        out.push(op);
        for field in fields {
            Compact(*field).encode_to(&mut out);
        }
        out
    }
}

/// A cursor over the message that knows its offset.
struct Reader<'a> {
    input: &'a [u8],
    len: usize,
    version: u8,
}

type Result<T> = core::result::Result<T, XcmError>;

impl Reader<'_> {
    fn at(&self) -> u32 {
        crate::len_u32(self.len - self.input.len())
    }

    fn malformed(&self) -> XcmError {
        XcmError::Malformed { at: self.at() }
    }

    fn decode<T: Decode>(&mut self) -> Result<T> {
        let at = self.at();
        T::decode(&mut self.input).map_err(|_| XcmError::Malformed { at })
    }

    fn u8(&mut self) -> Result<u8> {
        self.decode()
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        if self.input.len() < n {
            return Err(self.malformed());
        }
        self.input = &self.input[n..];
        Ok(())
    }

    fn compact_u32(&mut self) -> Result<u32> {
        Ok(self.decode::<Compact<u32>>()?.0)
    }

    fn compact_u64(&mut self) -> Result<()> {
        self.decode::<Compact<u64>>().map(drop)
    }

    fn compact_u128(&mut self) -> Result<()> {
        self.decode::<Compact<u128>>().map(drop)
    }

    /// An enum's variant index, at most `max`.
    fn variant(&mut self, max: u8) -> Result<u8> {
        let at = self.at();
        let index = self.u8()?;
        if index > max {
            return Err(XcmError::Malformed { at });
        }
        Ok(index)
    }

    /// `Option<T>` with `some` reading `T`.
    fn option(&mut self, some: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.variant(1)? == 1 {
            some(self)?;
        }
        Ok(())
    }

    fn network_id(&mut self) -> Result<()> {
        let at = self.at();
        match self.variant(10)? {
            0 => self.skip(32),
            1 => self.skip(8 + 32),
            // Westend, Rococo and Wococo are gone from v5.
            4..=6 if self.version >= 5 => Err(XcmError::Malformed { at }),
            7 => self.compact_u64(),
            _ => Ok(()),
        }
    }

    fn junction(&mut self) -> Result<()> {
        match self.variant(9)? {
            0 => self.compact_u32().map(drop),
            1 => {
                self.option(Self::network_id)?;
                self.skip(32)
            }
            2 => {
                self.option(Self::network_id)?;
                self.compact_u64()
            }
            3 => {
                self.option(Self::network_id)?;
                self.skip(20)
            }
            4 => self.skip(1),
            5 => self.compact_u128(),
            6 => self.skip(1 + 32),
            7 => Ok(()),
            8 => {
                // Plurality { id: BodyId, part: BodyPart }
                match self.variant(9)? {
                    1 => self.skip(4)?,
                    2 => self.compact_u32().map(drop)?,
                    _ => {}
                }
                match self.variant(4)? {
                    0 => Ok(()),
                    1 => self.compact_u32().map(drop),
                    _ => {
                        self.compact_u32()?;
                        self.compact_u32().map(drop)
                    }
                }
            }
            _ => self.network_id(),
        }
    }

    /// A `Location` (v3 `MultiLocation`): parents, then `Here` or `X1`..`X8`.
    fn location(&mut self) -> Result<()> {
        self.skip(1)?;
        let count = self.variant(8)?;
        for _ in 0..count {
            self.junction()?;
        }
        Ok(())
    }

    /// An `AssetId`: v3 `Concrete(MultiLocation)` or `Abstract([u8; 32])`;
    /// v4 and v5 a `Location`.
    fn asset_id(&mut self) -> Result<()> {
        if self.version == 3 {
            match self.variant(1)? {
                0 => self.location(),
                _ => self.skip(32),
            }
        } else {
            self.location()
        }
    }

    /// An `Asset`: its id, then `Fungible(compact u128)` or
    /// `NonFungible(AssetInstance)`.
    fn asset(&mut self) -> Result<()> {
        self.asset_id()?;
        match self.variant(1)? {
            0 => self.compact_u128(),
            _ => match self.variant(5)? {
                0 => Ok(()),
                1 => self.compact_u128(),
                2 => self.skip(4),
                3 => self.skip(8),
                4 => self.skip(16),
                _ => self.skip(32),
            },
        }
    }

    fn assets(&mut self) -> Result<()> {
        let count = self.compact_u32()?;
        for _ in 0..count {
            self.asset()?;
        }
        Ok(())
    }

    /// An `AssetFilter`: `Definite(Assets)` or `Wild(WildAsset)`.
    fn asset_filter(&mut self) -> Result<()> {
        if self.variant(1)? == 0 {
            return self.assets();
        }
        match self.variant(3)? {
            0 => Ok(()),
            1 => {
                self.asset_id()?;
                self.variant(1).map(drop)
            }
            2 => self.compact_u32().map(drop),
            _ => {
                self.asset_id()?;
                self.variant(1)?;
                self.compact_u32().map(drop)
            }
        }
    }

    fn weight(&mut self) -> Result<()> {
        self.compact_u64()?;
        self.compact_u64()
    }

    fn weight_limit(&mut self) -> Result<()> {
        if self.variant(1)? == 1 {
            self.weight()?;
        }
        Ok(())
    }

    fn instruction(&mut self, index: u32) -> Result<Instruction> {
        let op = self.u8()?;
        let fees = Instruction::Fees(op);
        match op {
            opcode::WITHDRAW_ASSET => self.assets().map(|()| fees),
            opcode::BUY_EXECUTION => {
                self.asset()?;
                self.weight_limit().map(|()| fees)
            }
            opcode::PAY_FEES if self.version >= 5 => self.asset().map(|()| fees),
            opcode::REFUND_SURPLUS => Ok(fees),
            opcode::CLEAR_ORIGIN => Ok(Instruction::ClearOrigin),
            opcode::DEPOSIT_ASSET => {
                self.asset_filter()?;
                self.location().map(|()| fees)
            }
            opcode::UNPAID_EXECUTION => {
                self.weight_limit()?;
                self.option(Self::location).map(|()| fees)
            }
            opcode::SET_TOPIC => self.decode().map(Instruction::SetTopic),
            opcode::TRANSACT => {
                let origin_kind = self.variant(3)?;
                if self.version >= 5 {
                    self.option(Self::weight)?;
                } else {
                    self.weight()?;
                }
                let call: Vec<u8> = self.decode()?;
                Ok(Instruction::Transact { origin_kind, call })
            }
            opcode => Err(XcmError::UnsupportedInstruction { index, opcode }),
        }
    }
}

/// Decodes an upward message: a `VersionedXcm` of version 3, 4 or 5 whose
/// instructions are all ones the service runs, with nothing after it.
pub fn decode_upward(msg: &[u8]) -> Result<UpwardXcm> {
    let (&version, rest) = msg.split_first().ok_or(XcmError::Empty)?;
    if !(3..=5).contains(&version) {
        return Err(XcmError::UnsupportedVersion(version));
    }
    let mut reader = Reader {
        input: rest,
        len: msg.len(),
        version,
    };
    let count = reader.compact_u32()?;
    if count > MAX_INSTRUCTIONS {
        return Err(XcmError::TooManyInstructions(count));
    }
    let mut instructions = Vec::new();
    let mut fields = Vec::new();
    for index in 0..count {
        let start = reader.at() as usize + 1;
        instructions.push(reader.instruction(index)?);
        fields.push(start..reader.at() as usize);
    }
    if !reader.input.is_empty() {
        return Err(XcmError::TrailingOctets(crate::len_u32(reader.input.len())));
    }
    Ok(UpwardXcm {
        version,
        instructions,
        fields,
    })
}
