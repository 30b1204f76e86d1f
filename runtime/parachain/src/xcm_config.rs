//! A minimal XCM configuration with two fungibles, messages to the relay
//! chain by UMP and to siblings by the XCMP queue, and `pallet-xcm` to let
//! accounts send them:
//!
//! - the native token at `Here` (`Balances`): this chain is its reserve;
//!   siblings take it as a reserve asset from here (the two-para
//!   rehearsal's transfers over HRMP), and it pays execution;
//! - the relay chain's token at `Parent` (`RelayBalances`, a second
//!   `pallet-balances` instance with its own accounts): the relay chain is
//!   its reserve. A `ReserveAssetDeposited((Parent, a))` from the parent
//!   (`NativeAsset`: an asset is accepted as a reserve asset from its own
//!   location only) mints it for the beneficiary, it pays execution too
//!   (a second `UsingComponents`, one planck per unit of weight as the
//!   native one), and a reserve withdrawal to the parent
//!   (`limited_reserve_transfer_assets` of `(Parent, a)` to `Parent`:
//!   `pallet-xcm` burns it here and sends `WithdrawAsset + ClearOrigin +
//!   BuyExecution + DepositAsset` up) returns it.
//!
//! On JAM the relay chain's reserve is the para's sovereign balance at the
//! CoreChains service: a JAM service's value transfer into the para
//! arrives as that downward `ReserveAssetDeposited`, and a reserve
//! withdrawal to `(Parent, GeneralIndex(s))` leaves as a JAM transfer to
//! service `s` (`parajam_corechains_service::jam_transfers`).
//!
//! Why a separate fungible, not the cumulus parachain template's choice
//! (its `FungibleAdapter<Balances, IsConcrete<RelayLocation>>`, where the
//! relay token *is* the chain's only balance): this chain has a native
//! token of its own, and accounting both in `Balances` would make a relay
//! token deposited here a native token (and a native token withdrawable
//! as the relay chain's), value out of nothing on either side.
//!
//! The relay chain is this chain's superuser, as on the cumulus parachain
//! template and Polkadot's system chains: a message from the parent (or
//! its executive plurality) may run unpaid (`UnpaidExecution` first), and
//! its `Transact` with `OriginKind::Superuser` dispatches as root
//! (`ParentAsSuperuser`). That is how relay governance upgrades a runtime
//! without sudo: a downward `[UnpaidExecution, Transact(Superuser,
//! System::authorize_upgrade(code_hash))]`, then anyone's
//! `System::apply_authorized_upgrade(code)`. A sibling gets neither: its
//! unpaid messages stop at the barrier, and no converter makes it root.

use frame_support::{
    parameter_types,
    traits::{ConstU32, Contains, Everything, Nothing},
    weights::{IdentityFee, Weight},
};
use frame_system::EnsureRoot;
use pallet_xcm::XcmPassthrough;
use polkadot_parachain_primitives::primitives::Sibling;
use polkadot_runtime_common::xcm_sender::NoPriceForMessageDelivery;
use xcm::latest::prelude::*;
use xcm_builder::{
    AccountId32Aliases, AllowExplicitUnpaidExecutionFrom, AllowKnownQueryResponses,
    AllowSubscriptionsFrom, AllowTopLevelPaidExecutionFrom, EnsureXcmOrigin, FixedWeightBounds,
    FrameTransactionalProcessor, FungibleAdapter, IsConcrete, NativeAsset, ParentAsSuperuser,
    ParentIsPreset,
    SiblingParachainConvertsVia, SignedAccountId32AsNative, SignedToAccountId32,
    SovereignSignedViaLocation, TakeWeightCredit, UsingComponents, WithUniqueTopic,
};
use xcm_executor::XcmExecutor;

use crate::{
    AccountId, AllPalletsWithSystem, Balance, Balances, ParachainInfo, ParachainSystem,
    PolkadotXcm, RelayBalances, Runtime, RuntimeCall, RuntimeEvent, RuntimeOrigin, XcmpQueue,
};

parameter_types! {
    /// The relay chain, as seen from here, and its token.
    pub const RelayLocation: Location = Location::parent();
    /// The native token.
    pub const NativeLocation: Location = Location::here();
    /// The relay chain's network (unspecified: a dev chain).
    pub const RelayNetwork: Option<NetworkId> = None;
    /// This chain in the consensus universe.
    pub UniversalLocation: InteriorLocation = Parachain(ParachainInfo::parachain_id().into()).into();
    /// The weight of one XCM instruction (1/10 ms, 64 KiB of proof).
    pub const UnitWeightCost: Weight = Weight::from_parts(100_000_000, 64 * 1024);
    /// The most instructions one message may have.
    pub const MaxInstructions: u32 = 100;
    /// The most assets the holding register may hold.
    pub const MaxAssetsIntoHolding: u32 = 64;
}

/// The account of a location: the relay chain's and siblings' sovereign
/// accounts, and local `AccountId32` locations as themselves.
pub type LocationToAccountId = (
    ParentIsPreset<AccountId>,
    SiblingParachainConvertsVia<Sibling, AccountId>,
    AccountId32Aliases<RelayNetwork, AccountId>,
);

/// The native token, by `pallet-balances`.
pub type NativeTransactor =
    FungibleAdapter<Balances, IsConcrete<NativeLocation>, LocationToAccountId, AccountId, ()>;

/// The relay chain's token, by its own `pallet-balances` instance
/// (`RelayBalances`); no checking account: this chain is not its reserve,
/// it only mints what the reserve deposits and burns what goes back.
pub type RelayTokenTransactor =
    FungibleAdapter<RelayBalances, IsConcrete<RelayLocation>, LocationToAccountId, AccountId, ()>;

/// Both tokens.
pub type AssetTransactor = (NativeTransactor, RelayTokenTransactor);

/// The dispatch origin of an XCM `Transact`: the relay chain's
/// `Superuser` kind is root here (relay governance's upgrades and root
/// calls).
pub type XcmOriginToTransactDispatchOrigin = (
    SovereignSignedViaLocation<LocationToAccountId, RuntimeOrigin>,
    ParentAsSuperuser<RuntimeOrigin>,
    SignedAccountId32AsNative<RelayNetwork, RuntimeOrigin>,
    XcmPassthrough<RuntimeOrigin>,
);

/// The relay chain, or its executive body (`Plurality { id: Executive }`):
/// the origins whose messages may run unpaid (the cumulus parachain
/// template's `ParentOrParentsExecutivePlurality`).
pub struct ParentOrParentsExecutivePlurality;

impl Contains<Location> for ParentOrParentsExecutivePlurality {
    fn contains(location: &Location) -> bool {
        matches!(
            location.unpack(),
            (1, []) | (1, [Plurality { id: BodyId::Executive, .. }])
        )
    }
}

/// Paid execution, the relay chain's explicitly unpaid execution (its
/// governance), query responses and version subscriptions.
pub type Barrier = (
    TakeWeightCredit,
    AllowTopLevelPaidExecutionFrom<Everything>,
    AllowExplicitUnpaidExecutionFrom<ParentOrParentsExecutivePlurality>,
    AllowKnownQueryResponses<PolkadotXcm>,
    AllowSubscriptionsFrom<Everything>,
);

/// Where outgoing messages go: the relay chain by UMP, siblings by XCMP.
pub type XcmRouter = WithUniqueTopic<(
    cumulus_primitives_utility::ParentAsUmp<
        ParachainSystem,
        PolkadotXcm,
        NoPriceForMessageDelivery<()>,
    >,
    XcmpQueue,
)>;

/// The XCM executor's configuration.
pub struct XcmConfig;

impl xcm_executor::Config for XcmConfig {
    type RuntimeCall = RuntimeCall;
    type XcmSender = XcmRouter;
    type XcmEventEmitter = PolkadotXcm;
    type AssetTransactor = AssetTransactor;
    type OriginConverter = XcmOriginToTransactDispatchOrigin;
    type IsReserve = NativeAsset;
    type IsTeleporter = ();
    type Aliasers = Nothing;
    type UniversalLocation = UniversalLocation;
    type Barrier = Barrier;
    type Weigher = FixedWeightBounds<UnitWeightCost, RuntimeCall, MaxInstructions>;
    type Trader = (
        UsingComponents<IdentityFee<Balance>, NativeLocation, AccountId, Balances, ()>,
        UsingComponents<IdentityFee<Balance>, RelayLocation, AccountId, RelayBalances, ()>,
    );
    type ResponseHandler = PolkadotXcm;
    type AssetTrap = PolkadotXcm;
    type AssetLocker = ();
    type AssetExchanger = ();
    type SubscriptionService = PolkadotXcm;
    type PalletInstancesInfo = AllPalletsWithSystem;
    type MaxAssetsIntoHolding = MaxAssetsIntoHolding;
    type FeeManager = ();
    type MessageExporter = ();
    type UniversalAliases = Nothing;
    type CallDispatcher = RuntimeCall;
    type SafeCallFilter = Everything;
    type TransactionalProcessor = FrameTransactionalProcessor;
    type HrmpNewChannelOpenRequestHandler = ();
    type HrmpChannelAcceptedHandler = ();
    type HrmpChannelClosingHandler = ();
    type XcmRecorder = PolkadotXcm;
}

/// A local signed origin as an XCM location.
pub type LocalOriginToLocation = SignedToAccountId32<RuntimeOrigin, AccountId, RelayNetwork>;

impl pallet_xcm::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type CurrencyMatcher = ();
    type AuthorizedAliasConsideration = ();
    type SendXcmOrigin = EnsureXcmOrigin<RuntimeOrigin, LocalOriginToLocation>;
    type XcmRouter = XcmRouter;
    type ExecuteXcmOrigin = EnsureXcmOrigin<RuntimeOrigin, LocalOriginToLocation>;
    type XcmExecuteFilter = Nothing;
    type XcmExecutor = XcmExecutor<XcmConfig>;
    type XcmTeleportFilter = Nothing;
    type XcmReserveTransferFilter = Everything;
    type Weigher = FixedWeightBounds<UnitWeightCost, RuntimeCall, MaxInstructions>;
    type UniversalLocation = UniversalLocation;
    type RuntimeOrigin = RuntimeOrigin;
    type RuntimeCall = RuntimeCall;
    const VERSION_DISCOVERY_QUEUE_SIZE: u32 = 100;
    type AdvertisedXcmVersion = pallet_xcm::CurrentXcmVersion;
    type AdminOrigin = EnsureRoot<AccountId>;
    type TrustedLockers = ();
    type SovereignAccountOf = LocationToAccountId;
    type MaxLockers = ConstU32<8>;
    type MaxRemoteLockConsumers = ConstU32<0>;
    type RemoteLockConsumerIdentifier = ();
    type WeightInfo = pallet_xcm::TestWeightInfo;
}
