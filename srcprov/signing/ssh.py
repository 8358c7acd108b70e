"""SSH signatures: signing through `ssh-keygen -Y sign` (the user's key file or ssh-agent, as git signs), and a
strict SSHSIG parser and verifier in process (`cryptography`), so that verification runs no process per record.

The format is OpenSSH's PROTOCOL.sshsig. A record's `sig` is the SSHSIG blob itself (the body of the armored
`SSH SIGNATURE`, decoded); its namespace must be `srcprov` (a commit signature, namespace `git`, can never pass
for a record) and its hash `sha512`. Key types: ssh-ed25519, ecdsa-sha2-nistp256/384/521, and ssh-rsa (>= 2048
bits) with rsa-sha2-256/512 signatures only (no SHA-1). Certificates and security keys (sk-*) are refused.

`cryptography` is imported only where a key is checked or a signature verified: the hook path stays lean.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.signing import KeyState, SigCheck, SignatureVerifier, Signed, SigStatus

NAMESPACE = b"srcprov"
HASH = b"sha512"
MAGIC = b"SSHSIG"
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_CURVES = {"ecdsa-sha2-nistp256": "nistp256", "ecdsa-sha2-nistp384": "nistp384", "ecdsa-sha2-nistp521": "nistp521"}
_KEYID = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
MIN_RSA_BITS = 2048
ARMOR_BEGIN = b"-----BEGIN SSH SIGNATURE-----"
ARMOR_END = b"-----END SSH SIGNATURE-----"


class BadSsh(ValueError):
    """Bytes that are not what the SSH wire format requires here."""


# --- the wire format (pure) ------------------------------------------------------------------------


class _Reader:
    """Reads SSH wire-format fields (RFC 4251) from bytes, refusing anything short or out of bounds."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BadSsh("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return int.from_bytes(self.raw(4), "big")

    def string(self) -> bytes:
        return self.raw(self.uint32())

    def mpint(self) -> int:
        """A positive mpint in its one minimal encoding (no superfluous leading zero byte, not negative)."""
        b = self.string()
        if not b:
            raise BadSsh("zero mpint")
        if b[0] & 0x80:
            raise BadSsh("negative mpint")
        if b[0] == 0 and (len(b) == 1 or not b[1] & 0x80):
            raise BadSsh("mpint not minimally encoded")
        return int.from_bytes(b, "big")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise BadSsh(f"{len(self.data) - self.pos} trailing byte(s)")


def _string(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


def keyid_of_blob(blob: bytes) -> str:
    """`SHA256:<base64, no padding>` of a public key blob, as `ssh-keygen -l` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def is_keyid(text: str) -> bool:
    """Whether TEXT has the shape of an SSH key id."""
    return bool(_KEYID.match(text))


def keyid_file_name(keyid: str) -> str:
    """The policy's key file name for an SSH key id (`:` and `/` become `_`)."""
    return keyid.replace(":", "_").replace("/", "_") + ".pub"


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key: its type, wire blob and comment."""

    type: str
    blob: bytes
    comment: str = ""

    @property
    def keyid(self) -> str:
        """`SHA256:...` as `ssh-keygen -l` prints it."""
        return keyid_of_blob(self.blob)

    def line(self) -> str:
        """The OpenSSH public key line."""
        return f"{self.type} {base64.b64encode(self.blob).decode()}" + (f" {self.comment}" if self.comment else "")


def check_key_blob(blob: bytes) -> str:
    """The key type of a public key blob whose fields are well-formed for a type srcprov verifies; BadSsh otherwise."""
    r = _Reader(blob)
    kt = r.string().decode("ascii", "replace")
    if kt not in KEY_TYPES:
        raise BadSsh(f"key type {kt!r} is not supported (supported: {', '.join(KEY_TYPES)})")
    if kt == "ssh-ed25519":
        if len(r.string()) != 32:
            raise BadSsh("ed25519 key is not 32 bytes")
    elif kt in _CURVES:
        if r.string().decode("ascii", "replace") != _CURVES[kt]:
            raise BadSsh(f"{kt} key names another curve")
        point = r.string()
        if not point or point[0] != 4:
            raise BadSsh("ECDSA key is not an uncompressed point")
    else:
        r.mpint()
        n = r.mpint()
        if n.bit_length() < MIN_RSA_BITS:
            raise BadSsh(f"RSA key of {n.bit_length()} bits (at least {MIN_RSA_BITS} wanted)")
    r.end()
    return kt


def parse_public_key_line(text: str) -> PublicKey:
    """One OpenSSH public key line (`TYPE BASE64 [COMMENT]`, no options); BadSsh when it is anything else."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) != 1:
        raise BadSsh("expected exactly one OpenSSH public key line")
    parts = lines[0].strip().split(None, 2)
    if len(parts) < 2:
        raise BadSsh("not an OpenSSH public key line (TYPE BASE64 [COMMENT])")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadSsh("the key is not valid base64") from None
    kt = check_key_blob(blob)
    if parts[0] != kt:
        raise BadSsh(f"the line says {parts[0]!r} but the key is {kt!r}")
    return PublicKey(kt, blob, parts[2].strip() if len(parts) > 2 else "")


def keyid_of_key_file(data: bytes) -> str:
    """The key id of a policy `.pub` file's bytes; BadSsh when it is not one supported public key line."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise BadSsh("not ASCII") from None
    return parse_public_key_line(text).keyid


@dataclass(frozen=True)
class Sshsig:
    """The fields of an SSHSIG blob (PROTOCOL.sshsig), checked for shape only."""

    public_key: bytes
    namespace: bytes
    reserved: bytes
    hash_alg: bytes
    sig_type: str
    sig: bytes  # the signature proper, inside the signature blob


def parse_sshsig(data: bytes) -> Sshsig:
    """Parse an SSHSIG blob strictly: magic, version 1, every field present, no trailing bytes anywhere."""
    r = _Reader(data)
    if r.raw(6) != MAGIC:
        raise BadSsh("not an SSHSIG blob (no SSHSIG magic)")
    version = r.uint32()
    if version != 1:
        raise BadSsh(f"SSHSIG version {version}, not 1")
    pub, ns, reserved, hash_alg, sigblob = r.string(), r.string(), r.string(), r.string(), r.string()
    r.end()
    s = _Reader(sigblob)
    sig_type = s.string().decode("ascii", "replace")
    sig = s.string()
    s.end()
    return Sshsig(pub, ns, reserved, hash_alg, sig_type, sig)


def signed_data(namespace: bytes, hash_alg: bytes, message: bytes, reserved: bytes = b"") -> bytes:
    """What an SSHSIG signature is made over: the magic, namespace, reserved, hash name and the message's hash."""
    digest = hashlib.new(hash_alg.decode("ascii"), message).digest()
    return MAGIC + _string(namespace) + _string(reserved) + _string(hash_alg) + _string(digest)


def dearmor(text: bytes) -> bytes:
    """The SSHSIG blob inside an armored `SSH SIGNATURE` (as ssh-keygen writes it); BadSsh otherwise."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise BadSsh("not an armored SSH SIGNATURE")
    try:
        return base64.b64decode(b"".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise BadSsh("the armored SSH SIGNATURE is not valid base64") from None


# --- verification ----------------------------------------------------------------------------------


def _load_key(blob: bytes) -> object:
    """A `cryptography` public key from a (checked) SSH key blob."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    r = _Reader(blob)
    kt = r.string().decode()
    if kt == "ssh-ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(r.string())
    if kt in _CURVES:
        r.string()
        curve = {"nistp256": ec.SECP256R1(), "nistp384": ec.SECP384R1(), "nistp521": ec.SECP521R1()}[_CURVES[kt]]
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, r.string())  # checks the point is on the curve
    e = r.mpint()
    n = r.mpint()
    return rsa.RSAPublicNumbers(e, n).public_key()


def verify_sshsig(key_blob: bytes, key: object, message: bytes, parsed: Sshsig) -> str | None:
    """Why PARSED is not a valid `srcprov` signature over MESSAGE by the key KEY_BLOB, or None when it is."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if parsed.namespace != NAMESPACE:
        return f"SSH signature namespace {parsed.namespace[:40]!r}, not 'srcprov' (a signature made for another use)"
    if parsed.reserved:
        return "SSH signature has a non-empty reserved field"
    if parsed.hash_alg != HASH:
        return f"SSH signature hash {parsed.hash_alg[:20]!r}, not 'sha512'"
    if parsed.public_key != key_blob:
        return "the SSH signature names another key"
    data = signed_data(parsed.namespace, parsed.hash_alg, message)
    kt = _Reader(key_blob).string().decode()
    try:
        if kt == "ssh-ed25519":
            if parsed.sig_type != kt or len(parsed.sig) != 64:
                return f"{parsed.sig_type!r} signature for an {kt} key"
            assert isinstance(key, ed25519.Ed25519PublicKey)
            key.verify(parsed.sig, data)
        elif kt in _CURVES:
            if parsed.sig_type != kt:
                return f"{parsed.sig_type!r} signature for an {kt} key"
            s = _Reader(parsed.sig)
            rr, ss = s.mpint(), s.mpint()
            s.end()
            algo = {"nistp256": hashes.SHA256(), "nistp384": hashes.SHA384(), "nistp521": hashes.SHA512()}[_CURVES[kt]]
            assert isinstance(key, ec.EllipticCurvePublicKey)
            key.verify(encode_dss_signature(rr, ss), data, ec.ECDSA(algo))
        else:
            algos = {"rsa-sha2-256": hashes.SHA256(), "rsa-sha2-512": hashes.SHA512()}
            if parsed.sig_type not in algos:
                return f"RSA signature type {parsed.sig_type!r} (only rsa-sha2-256 and rsa-sha2-512)"
            assert isinstance(key, rsa.RSAPublicKey)
            if len(parsed.sig) != (key.key_size + 7) // 8:
                return "RSA signature is not as long as the modulus"
            key.verify(parsed.sig, data, padding.PKCS1v15(), algos[parsed.sig_type])
    except InvalidSignature:
        return "signature does not verify over this payload"
    except BadSsh as e:
        return f"malformed SSH signature: {e}"
    return None


class SshVerifier(SignatureVerifier):
    """Verifies SSHSIG blobs (namespace `srcprov`, hash sha512) against the policy's SSH public keys."""

    kind = "ssh"

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._keys: dict[str, tuple[bytes, object]] = {}  # keyid -> (blob, cryptography key)
        for keyid, data in keys.items():
            try:
                pk = parse_public_key_line(data.decode("ascii"))
                key = _load_key(pk.blob)
            except (BadSsh, UnicodeDecodeError, ValueError) as e:
                raise SrcprovError(f"policy key {keyid} is not a usable OpenSSH public key: {e}") from None
            if pk.keyid != keyid:
                raise SrcprovError(f"policy key file for {keyid} holds the key {pk.keyid}")
            self._keys[keyid] = (pk.blob, key)

    @property
    def key_states(self) -> Mapping[str, KeyState]:
        """SSH keys state no lifecycle of their own (no expiry, no revocation): the policy's `until` is all there is."""
        return {}

    def _verify(self, data: bytes, sig: bytes, keyid: str | None = None) -> SigCheck:
        try:
            parsed = parse_sshsig(sig)
        except BadSsh as e:
            return SigCheck(SigStatus.BAD, detail=f"not an SSHSIG blob: {e}")
        signer = keyid_of_blob(parsed.public_key)
        held = self._keys.get(signer)
        if held is None:
            try:
                check_key_blob(parsed.public_key)
            except BadSsh as e:
                return SigCheck(SigStatus.BAD, signer, detail=f"SSH signature by an unsupported key: {e}")
            return SigCheck(SigStatus.NO_KEY, signer, detail=f"signed by {signer}, a key the policy does not hold")
        why = verify_sshsig(held[0], held[1], data, parsed)
        if why is not None:
            return SigCheck(SigStatus.BAD, signer, signer, detail=why)
        return SigCheck(SigStatus.GOOD, signer, signer)


# --- signing ---------------------------------------------------------------------------------------


def ssh_keygen() -> str:
    """The ssh-keygen executable; SrcprovError when there is none."""
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SrcprovError("ssh-keygen not found: install OpenSSH's client (Debian: apt-get install openssh-client)")
    return found


def openssh_version() -> str:
    """OpenSSH's version (`OpenSSH_9.2p1`), or `unknown`."""
    ssh = shutil.which("ssh")
    if ssh is None:
        return "unknown"
    try:
        out = subprocess.run([ssh, "-V"], capture_output=True, timeout=10).stderr.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.match(r"(OpenSSH_\S+?),?\s", out)
    return m.group(1) if m else "unknown"


def literal_key(key: str) -> str | None:
    """The public key line that KEY names literally (`key::LINE`, or a bare `ssh-... AAAA` line as git accepts), or None."""
    if key.startswith("key::"):
        return key[len("key::"):].strip()
    if key.startswith(("ssh-", "ecdsa-", "sk-")) and " " in key.strip():
        return key.strip()
    return None


def _agent_keys() -> list[bytes] | None:
    """The key blobs ssh-agent holds, or None when no agent answers."""
    add = shutil.which("ssh-add")
    if add is None or not os.environ.get("SSH_AUTH_SOCK"):
        return None
    try:
        proc = subprocess.run([add, "-L"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode not in (0, 1):  # 1: an agent holding no key
        return None
    blobs = []
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                blobs.append(base64.b64decode(parts[1], validate=True))
            except (binascii.Error, ValueError):
                continue
    return blobs


@dataclass
class SshSigner:
    """Signs with an SSH key through `ssh-keygen -Y sign -n srcprov`: a private key file, or a key that
    ssh-agent holds (named by a `key::` line), within a time limit."""

    key: str  # a key file (`~/` allowed) or a literal public key line
    timeout: float = 15.0
    kind = "ssh"

    @property
    def version(self) -> str:
        """OpenSSH's version (asked once)."""
        if not hasattr(self, "_version"):
            self._version = openssh_version()
        return self._version

    def _literal(self) -> PublicKey | None:
        line = literal_key(self.key)
        if line is None:
            return None
        try:
            return parse_public_key_line(line)
        except BadSsh as e:
            raise SrcprovError(f"signing key {self.key[:60]!r}: {e}") from None

    def _path(self) -> Path:
        return Path(os.path.expanduser(self.key))

    def public_key(self) -> PublicKey | None:
        """The public key this signer signs with, when it can be known without a passphrase (or None)."""
        lit = self._literal()
        if lit is not None:
            return lit
        path = self._path()
        for candidate in (path.with_name(path.name + ".pub"), path):
            try:
                return parse_public_key_line(candidate.read_text("ascii"))
            except (OSError, UnicodeDecodeError, BadSsh):
                continue
        try:
            proc = subprocess.run([ssh_keygen(), "-y", "-P", "", "-f", str(path)], capture_output=True,
                                  timeout=self.timeout, stdin=subprocess.DEVNULL)
            return parse_public_key_line(proc.stdout.decode("ascii")) if proc.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, UnicodeDecodeError, BadSsh, SrcprovError):
            return None

    def primary_fingerprint(self) -> str | None:
        """The key id a policy lists for this key, or None when it cannot be known."""
        pk = self.public_key()
        return pk.keyid if pk else None

    def sign(self, data: bytes) -> Signed:
        """An SSHSIG blob over DATA (namespace srcprov, sha512)."""
        binary = ssh_keygen()
        lit = self._literal()
        with tempfile.TemporaryDirectory(prefix="srcprov-ssh-") as tmp:
            if lit is not None:
                # As git does: the public key in a file, and -U: the private key is in the agent.
                keyfile = Path(tmp) / "key.pub"
                keyfile.write_text(lit.line() + "\n")
                args = [binary, "-Y", "sign", "-n", "srcprov", "-O", "hashalg=sha512", "-U", "-f", str(keyfile)]
            else:
                args = [binary, "-Y", "sign", "-n", "srcprov", "-O", "hashalg=sha512", "-f", str(self._path())]
            try:
                proc = subprocess.run(args, input=data, capture_output=True, timeout=self.timeout,
                                      start_new_session=True)  # no terminal: a passphrase prompt fails, never hangs
            except subprocess.TimeoutExpired:
                raise SrcprovError(
                    f"ssh-keygen did not sign within {self.timeout:g}s (a passphrase nobody can type?); "
                    "the record stays queued: run `srcprov record --pending` from a terminal") from None
            except OSError as e:
                raise SrcprovError(f"cannot run ssh-keygen: {e}") from None
        if proc.returncode != 0 or not proc.stdout:
            text = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines()
                    if ln.strip() and not ln.startswith("Signing data")]
            reason = text[-1] if text else f"exit code {proc.returncode}"
            raise SrcprovError(f"ssh-keygen could not sign with {self.key}: {reason}")
        try:
            blob = dearmor(proc.stdout)
            parsed = parse_sshsig(blob)
        except BadSsh as e:
            raise SrcprovError(f"ssh-keygen wrote something unexpected: {e}") from None
        return Signed(blob, keyid_of_blob(parsed.public_key))

    def usable(self) -> str | None:
        """Why this key cannot sign now (no ssh-keygen, no readable key file, the agent lacks the key), or None."""
        try:
            ssh_keygen()
            lit = self._literal()
        except SrcprovError as e:
            return str(e)
        if lit is None:
            path = self._path()
            if not path.is_file():
                return f"SSH key file {path} does not exist"
            if not os.access(path, os.R_OK):
                return f"SSH key file {path} is not readable"
            if path.read_bytes()[:40].startswith((b"ssh-", b"ecdsa-", b"sk-")):
                lit = self.public_key()  # a public key file: git then signs with the agent's private key
                if lit is None:
                    return f"{path} is not a supported SSH key"
            else:
                return None
        agent = _agent_keys()
        if agent is None:
            return f"no ssh-agent answers (SSH_AUTH_SOCK), so the key {lit.keyid} cannot sign"
        if lit.blob not in agent:
            return f"ssh-agent does not hold the key {lit.keyid} (ssh-add it)"
        return None
