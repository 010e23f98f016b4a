// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IStakeholderRegistry} from "./IStakeholderRegistry.sol";
import {Roles} from "./Roles.sol";

/// @title ConsentLedger
/// @notice Citizens' consents (subject -> grantee, one data category, one purpose, until an
///         expiry) and governance's data-sharing agreements between organisations.
/// @dev Categories are keccak256 of dotted names ("energy.household_meter"), purposes keccak256
///      of W3C DPV terms ("dpv:ServiceProvision"). Storage keeps only the live expiry of each
///      consent (revoking deletes it, which is what keeps revocation cheap); the full history
///      lives in the events: the latest ConsentGranted or ConsentRevoked for a
///      (subject, grantee, category, purpose) decides, and `relayer` tells a relayed EIP-712
///      message (the relaying address) from the subject's own transaction (address(0)).
contract ConsentLedger {
    /// @notice EIP-712 type of a signed grant.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "GrantConsent(address subject,address grantee,bytes32 category,bytes32 purpose,uint64 expiry,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of a signed revocation.
    bytes32 public constant REVOKE_TYPEHASH = keccak256(
        "RevokeConsent(address subject,address grantee,bytes32 category,bytes32 purpose,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @notice EIP-712 domain name.
    string public constant NAME = "qcity ConsentLedger";
    /// @notice EIP-712 domain version.
    string public constant VERSION = "1";
    bytes32 private constant _NAME_HASH = keccak256(bytes(NAME));
    bytes32 private constant _VERSION_HASH = keccak256(bytes(VERSION));
    /// @dev Upper bound of a canonical ECDSA `s` (EIP-2): rejects malleable signatures.
    uint256 private constant _HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice The registry that says who governs and who is an organisation.
    IStakeholderRegistry public immutable registry;

    mapping(bytes32 consentKey => uint256 expiry) private _consents;
    mapping(bytes32 agreementKey => uint256 expiry) private _agreements;
    /// @notice Whether a data category holds personal data (then only consents can share it).
    mapping(bytes32 category => bool personal) public isPersonalCategory;
    /// @notice The next EIP-712 nonce of each subject.
    mapping(address subject => uint256 nonce) public nonces;

    /// @notice `account` lacks `role`, which the call requires.
    error AccountMissingRole(address account, bytes32 role);
    /// @notice The grantee is the zero address or the subject itself.
    error InvalidGrantee(address subject, address grantee);
    /// @notice The category or purpose is zero.
    error InvalidTerms(bytes32 category, bytes32 purpose);
    /// @notice `expiry` is not after the current block's time `currentTime`.
    error ExpiryNotInFuture(uint64 expiry, uint256 currentTime);
    /// @notice No consent (live or expired) is recorded for these terms.
    error ConsentNotFound(address subject, address grantee, bytes32 category, bytes32 purpose);
    /// @notice The signed message's `deadline` has passed at `currentTime`.
    error SignatureExpired(uint256 deadline, uint256 currentTime);
    /// @notice The signed message carries `given`, but the subject's next nonce is `expected`.
    error InvalidNonce(address subject, uint256 expected, uint256 given);
    /// @notice The signature recovers to `recovered` (zero when malformed), not to `subject`.
    error InvalidSignature(address subject, address recovered);
    /// @notice `category` is personal: organisations may share it only under consent.
    error PersonalCategory(bytes32 category);
    /// @notice `account` holds no organisation role in the registry.
    error NotOrganisation(address account);
    /// @notice Provider and consumer are the same or zero.
    error InvalidParties(address provider, address consumer);
    /// @notice No agreement is recorded for these terms.
    error AgreementNotFound(address provider, address consumer, bytes32 category, bytes32 purpose);

    /// @notice `subject` consented to `grantee` using `category` for `purpose` until `expiry`;
    ///         `relayer` sent the signed message, or is zero when the subject sent it.
    event ConsentGranted(
        address indexed subject,
        address indexed grantee,
        bytes32 indexed category,
        bytes32 purpose,
        uint64 expiry,
        address relayer
    );
    /// @notice `subject` withdrew the consent; `relayer` as in ConsentGranted.
    event ConsentRevoked(
        address indexed subject, address indexed grantee, bytes32 indexed category, bytes32 purpose, address relayer
    );
    /// @notice Governance (`sender`) let `provider` share `category` with `consumer` for
    ///         `purpose` until `expiry`.
    event AgreementGranted(
        address indexed provider,
        address indexed consumer,
        bytes32 indexed category,
        bytes32 purpose,
        uint64 expiry,
        address sender
    );
    /// @notice Governance (`sender`) ended the agreement.
    event AgreementRevoked(
        address indexed provider, address indexed consumer, bytes32 indexed category, bytes32 purpose, address sender
    );
    /// @notice Governance (`sender`) marked `category` as personal or not.
    event CategoryClassified(bytes32 indexed category, bool personal, address indexed sender);

    modifier onlyGovernance() {
        if (!registry.hasRole(Roles.GOVERNANCE_ADMIN, msg.sender)) {
            revert AccountMissingRole(msg.sender, Roles.GOVERNANCE_ADMIN);
        }
        _;
    }

    /// @param registry_ The StakeholderRegistry that says who governs.
    constructor(IStakeholderRegistry registry_) {
        registry = registry_;
    }

    // ----------------------------------------------------------------- consents

    /// @notice Lets `grantee` use the caller's `category` data for `purpose` until `expiry`.
    /// @dev Replaces any earlier consent for the same terms (extend or shorten). Requires a
    ///      non-zero grantee other than the caller, non-zero terms and an expiry after the
    ///      current block. Emits ConsentGranted with relayer zero.
    /// @param grantee Who may use the data.
    /// @param category keccak256 of the dotted category name.
    /// @param purpose keccak256 of the DPV purpose term.
    /// @param expiry Unix seconds; the consent holds while block.timestamp < expiry.
    function grantConsent(address grantee, bytes32 category, bytes32 purpose, uint64 expiry) external {
        _grant(msg.sender, grantee, category, purpose, expiry, address(0));
    }

    /// @notice Withdraws the caller's consent for these terms, effective from this block.
    /// @dev Requires a recorded consent (an expired one may be revoked too). Emits
    ///      ConsentRevoked with relayer zero.
    /// @param grantee The grantee of the consent.
    /// @param category The category id.
    /// @param purpose The purpose id.
    function revokeConsent(address grantee, bytes32 category, bytes32 purpose) external {
        _revoke(msg.sender, grantee, category, purpose, address(0));
    }

    /// @notice Records a grant that `subject` signed (EIP-712 GrantConsent); anyone may relay.
    /// @dev Requires deadline >= block.timestamp, `nonce` equal to nonces(subject), and a
    ///      canonical signature by `subject` over this contract's domain (chain id and address
    ///      included); then the same checks as grantConsent. Consumes the nonce. Emits
    ///      ConsentGranted with the caller as relayer.
    /// @param subject The data subject who signed.
    /// @param grantee Who may use the data.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @param expiry Unix seconds.
    /// @param nonce The subject's next nonce.
    /// @param deadline Last unix second at which the message may be relayed.
    /// @param v Signature recovery id (27 or 28).
    /// @param r Signature r.
    /// @param s Signature s (lower half of the curve order).
    function grantConsentBySig(
        address subject,
        address grantee,
        bytes32 category,
        bytes32 purpose,
        uint64 expiry,
        uint256 nonce,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(GRANT_TYPEHASH, subject, grantee, category, purpose, expiry, nonce, deadline));
        _useSignature(subject, structHash, nonce, deadline, v, r, s);
        _grant(subject, grantee, category, purpose, expiry, msg.sender);
    }

    /// @notice Records a revocation that `subject` signed (EIP-712 RevokeConsent); anyone may relay.
    /// @dev Same signature rules as grantConsentBySig, then the same checks as revokeConsent.
    ///      Emits ConsentRevoked with the caller as relayer.
    /// @param subject The data subject who signed.
    /// @param grantee The grantee of the consent.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @param nonce The subject's next nonce.
    /// @param deadline Last unix second at which the message may be relayed.
    /// @param v Signature recovery id (27 or 28).
    /// @param r Signature r.
    /// @param s Signature s.
    function revokeConsentBySig(
        address subject,
        address grantee,
        bytes32 category,
        bytes32 purpose,
        uint256 nonce,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(REVOKE_TYPEHASH, subject, grantee, category, purpose, nonce, deadline));
        _useSignature(subject, structHash, nonce, deadline, v, r, s);
        _revoke(subject, grantee, category, purpose, msg.sender);
    }

    /// @notice Whether `grantee` may use `subject`'s `category` data for `purpose` right now.
    /// @param subject The data subject.
    /// @param grantee The would-be user of the data.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @return True while a consent is recorded and block.timestamp < its expiry.
    function isAllowed(address subject, address grantee, bytes32 category, bytes32 purpose)
        external
        view
        returns (bool)
    {
        return block.timestamp < _consents[_key(subject, grantee, category, purpose)];
    }

    /// @notice The recorded expiry of a consent.
    /// @param subject The data subject.
    /// @param grantee The grantee.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @return Unix seconds; zero when none is recorded (never granted, or revoked).
    function consentExpiry(address subject, address grantee, bytes32 category, bytes32 purpose)
        external
        view
        returns (uint64)
    {
        return uint64(_consents[_key(subject, grantee, category, purpose)]);
    }

    // ----------------------------------------------------------------- agreements

    /// @notice Marks `category` as personal (shareable only under consent) or not.
    /// @dev Requires GOVERNANCE_ADMIN in the registry; non-zero category. Emits CategoryClassified.
    /// @param category The category id.
    /// @param personal True for personal data.
    function setCategoryPersonal(bytes32 category, bool personal) external onlyGovernance {
        if (category == bytes32(0)) revert InvalidTerms(category, bytes32(0));
        isPersonalCategory[category] = personal;
        emit CategoryClassified(category, personal, msg.sender);
    }

    /// @notice Lets organisation `provider` share non-personal `category` data with organisation
    ///         `consumer` for `purpose` until `expiry`.
    /// @dev Requires GOVERNANCE_ADMIN; both parties organisations and distinct; non-zero terms;
    ///      a non-personal category; a future expiry. Replaces an earlier agreement on the same
    ///      terms. Emits AgreementGranted.
    /// @param provider The organisation that holds the data.
    /// @param consumer The organisation that may use it.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @param expiry Unix seconds; the agreement holds while block.timestamp < expiry.
    function grantAgreement(address provider, address consumer, bytes32 category, bytes32 purpose, uint64 expiry)
        external
        onlyGovernance
    {
        if (provider == consumer || provider == address(0) || consumer == address(0)) {
            revert InvalidParties(provider, consumer);
        }
        if (category == bytes32(0) || purpose == bytes32(0)) revert InvalidTerms(category, purpose);
        if (isPersonalCategory[category]) revert PersonalCategory(category);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        if (!registry.isOrganisation(provider)) revert NotOrganisation(provider);
        if (!registry.isOrganisation(consumer)) revert NotOrganisation(consumer);
        _agreements[_key(provider, consumer, category, purpose)] = expiry;
        emit AgreementGranted(provider, consumer, category, purpose, expiry, msg.sender);
    }

    /// @notice Ends an agreement, effective from this block.
    /// @dev Requires GOVERNANCE_ADMIN and a recorded agreement. Emits AgreementRevoked.
    /// @param provider The providing organisation.
    /// @param consumer The consuming organisation.
    /// @param category The category id.
    /// @param purpose The purpose id.
    function revokeAgreement(address provider, address consumer, bytes32 category, bytes32 purpose)
        external
        onlyGovernance
    {
        bytes32 key = _key(provider, consumer, category, purpose);
        if (_agreements[key] == 0) revert AgreementNotFound(provider, consumer, category, purpose);
        delete _agreements[key];
        emit AgreementRevoked(provider, consumer, category, purpose, msg.sender);
    }

    /// @notice Whether `provider` may share `category` data with `consumer` for `purpose` now.
    /// @param provider The providing organisation.
    /// @param consumer The consuming organisation.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @return True while an agreement is recorded and block.timestamp < its expiry.
    function isAgreed(address provider, address consumer, bytes32 category, bytes32 purpose)
        external
        view
        returns (bool)
    {
        return block.timestamp < _agreements[_key(provider, consumer, category, purpose)];
    }

    /// @notice The recorded expiry of an agreement.
    /// @param provider The providing organisation.
    /// @param consumer The consuming organisation.
    /// @param category The category id.
    /// @param purpose The purpose id.
    /// @return Unix seconds; zero when none is recorded.
    function agreementExpiry(address provider, address consumer, bytes32 category, bytes32 purpose)
        external
        view
        returns (uint64)
    {
        return uint64(_agreements[_key(provider, consumer, category, purpose)]);
    }

    // ----------------------------------------------------------------- EIP-712

    /// @notice The EIP-712 domain separator for the current chain.
    /// @return The separator over name, version, chain id and this contract's address.
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 domain as EIP-5267 describes it, so that wallets can build it.
    /// @return fields Bitmap of the fields used (name, version, chainId, verifyingContract).
    /// @return name The domain name.
    /// @return version The domain version.
    /// @return chainId The current chain id.
    /// @return verifyingContract This contract.
    /// @return salt Unused (zero).
    /// @return extensions Unused (empty).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", NAME, VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ----------------------------------------------------------------- internals

    function _grant(
        address subject,
        address grantee,
        bytes32 category,
        bytes32 purpose,
        uint64 expiry,
        address relayer
    ) private {
        if (grantee == address(0) || grantee == subject) revert InvalidGrantee(subject, grantee);
        if (category == bytes32(0) || purpose == bytes32(0)) revert InvalidTerms(category, purpose);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        _consents[_key(subject, grantee, category, purpose)] = expiry;
        emit ConsentGranted(subject, grantee, category, purpose, expiry, relayer);
    }

    function _revoke(address subject, address grantee, bytes32 category, bytes32 purpose, address relayer)
        private
    {
        bytes32 key = _key(subject, grantee, category, purpose);
        if (_consents[key] == 0) revert ConsentNotFound(subject, grantee, category, purpose);
        delete _consents[key];
        emit ConsentRevoked(subject, grantee, category, purpose, relayer);
    }

    /// @dev Checks deadline, nonce and signer, then consumes the nonce.
    function _useSignature(
        address subject,
        bytes32 structHash,
        uint256 nonce,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        uint256 expected = nonces[subject];
        if (nonce != expected) revert InvalidNonce(subject, expected, nonce);
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
        address recovered;
        if (uint256(s) <= _HALF_ORDER && (v == 27 || v == 28)) recovered = ecrecover(digest, v, r, s);
        if (recovered == address(0) || recovered != subject) revert InvalidSignature(subject, recovered);
        nonces[subject] = expected + 1;
    }

    function _key(address a, address b, bytes32 category, bytes32 purpose) private pure returns (bytes32) {
        return keccak256(abi.encode(a, b, category, purpose));
    }
}
