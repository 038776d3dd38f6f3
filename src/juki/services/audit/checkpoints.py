"""Signed checkpoints of the operation log, and the one-pass scan that verifies it (S-15, S-19, S-20).

Why checkpoints: the hash chain in audit.op_log shows any edit made through normal means, but a
superuser can rewrite a row and re-hash every later row, or cut off the tail and rewrite the chain
head. A checkpoint commits to the whole log as it stood (an RFC 6962 Merkle tree hash over the
rows' row_hash values, with the tree size and the last row), is signed with an Ed25519 key kept in a
directory outside the database, and is appended as one JSON line to a file outside the database
(`$JUKI_DATA_DIR/audit/checkpoints.jsonl`; copy it off the machine too). A rewrite of any row that a
checkpoint covers changes that checkpoint's root; a truncation leaves fewer rows than it counted.

The scan streams the log through a server-side cursor and keeps only O(log n) hashes (the Merkle
accumulator), so memory stays flat for any log size.

Checkpoint line (format v1, keys in this order, UTF-8 JSON, one per line)::

    {"v": 1, "tree_size": N, "root": "<hex>", "last_seq": S, "last_row_hash": "<hex>",
     "created_at": "<ISO 8601 UTC>", "key_id": "<hex>", "signature": "<base64>"}

The signature is Ed25519 over `Checkpoint.message()`: the text
"juki-oplog-checkpoint-v1\\n<tree_size>\\n<root hex>\\n<last_seq>\\n<last_row_hash hex>\\n<created_at>\\n"
in UTF-8. key_id is the first 16 hex digits of sha256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg.pq import TransactionStatus

from juki.config import Settings
from juki.services.audit.operation_log import GENESIS_HASH, ROW_COLUMNS, LogEntry

__all__ = [
    "CHECKPOINT_FILE",
    "FINDINGS",
    "KEY_FILE",
    "PUBLIC_KEY_FILE",
    "Checkpoint",
    "CheckpointRefused",
    "Finding",
    "MerkleAccumulator",
    "ScanResult",
    "audit_dir",
    "create_checkpoint",
    "ensure_key",
    "leaf_hash",
    "load_public_keys",
    "merkle_root",
    "node_hash",
    "read_checkpoints",
    "scan_log",
    "seal",
]

KEY_FILE: Final = "checkpoint-key.pem"
PUBLIC_KEY_FILE: Final = "checkpoint-key.pub.pem"
CHECKPOINT_FILE: Final = "checkpoints.jsonl"
_MESSAGE_TAG: Final = "juki-oplog-checkpoint-v1"
_FETCH: Final = 2000

#: Stable finding codes → (severity, Japanese message for the operator). Tests and docs rely on them.
FINDINGS: Final[dict[str, tuple[str, str]]] = {
    "A_ROW_HASH": ("error", "行の内容が記録時のハッシュと一致しません（改ざんの疑い）"),
    "A_CHAIN_BROKEN": ("error", "ハッシュチェーンが前の行とつながっていません（削除・改ざんの疑い）"),
    "A_SEQ_GAP": ("error", "通番に欠番があります（行の削除の疑い）"),
    "A_HEAD_MISMATCH": ("error", "チェーンの先頭情報がログの最終行と一致しません"),
    "A_CHECKPOINT_ROOT": ("error", "チェックポイントのルートハッシュがログと一致しません（書き換えの疑い）"),
    "A_CHECKPOINT_SIGNATURE": ("error", "チェックポイントの署名が正しくありません（偽造の疑い）"),
    "A_CHECKPOINT_FORMAT": ("error", "チェックポイントファイルの行を読み取れません"),
    "A_CHECKPOINT_ORDER": ("error", "チェックポイントの件数が前のチェックポイントより減っています"),
    "A_TRUNCATED": ("error", "ログの件数がチェックポイントの件数より少なくなっています（末尾の削除の疑い）"),
    "A_KEY_MISSING": ("error", "チェックポイントを検証する公開鍵が見つかりません"),
    "A_NO_CHECKPOINT": (
        "error",
        "ログに行があるのに署名付きチェックポイントがありません（ファイルの削除・指定誤りの疑い）",
    ),
    "A_UNSEALED": (
        "warning",
        "まだハッシュチェーンに封印されていない行があります（封印中の別トランザクションの終了後に封印されます）",
    ),
    "A_NEW_LOG": ("warning", "ログは空で、チェックポイントもまだありません（新しいログ）"),
}


@dataclass(frozen=True)
class Finding:
    """One problem found by a scan; `seq` / `line` point at the log row / checkpoint line."""

    code: str
    detail: str = ""
    seq: int | None = None
    line: int | None = None

    @property
    def severity(self) -> str:
        return FINDINGS[self.code][0]

    @property
    def message_ja(self) -> str:
        base = FINDINGS[self.code][1]
        return base + (f"（{self.detail}）" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message_ja,
            "seq": self.seq,
            "line": self.line,
        }


class CheckpointRefused(RuntimeError):
    """The log does not verify, so no checkpoint is signed over it (that would bless the tampering)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        codes = ", ".join(sorted({f.code for f in findings}))
        super().__init__(f"ログの検証に失敗したためチェックポイントを作成しません: {codes}")


# --- RFC 6962 Merkle tree hash -------------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 §2.1: MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 §2.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """The RFC's recursive definition (k = largest power of two < n); the reference for tests."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


@dataclass
class MerkleAccumulator:
    """Streaming RFC 6962 tree hash: a stack of perfect subtrees, O(log n) memory.

    After n leaves the stack holds the roots of perfect subtrees of strictly decreasing sizes
    (the binary digits of n); folding them right to left gives exactly the RFC's split
    (the left subtree always the largest power of two below n).
    """

    size: int = 0
    _stack: list[tuple[int, bytes]] = field(default_factory=list)

    def add(self, leaf: bytes) -> None:
        self._stack.append((1, leaf_hash(leaf)))
        self.size += 1
        while len(self._stack) >= 2 and self._stack[-1][0] == self._stack[-2][0]:
            right_size, right = self._stack.pop()
            left_size, left = self._stack.pop()
            self._stack.append((left_size + right_size, node_hash(left, right)))

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        acc = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc


# --- keys ----------------------------------------------------------------------------------------


def audit_dir(settings: Settings) -> Path:
    """Where the key and the checkpoint file live by default: `$JUKI_DATA_DIR/audit`."""
    return settings.data_dir / "audit"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ensure_key(keydir: Path) -> Ed25519PrivateKey:
    """Load the signing key, generating it (mode 0600, public key alongside) on first use."""
    keydir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = keydir / KEY_FILE
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise RuntimeError(f"{path} は Ed25519 の秘密鍵ではありません")
        return loaded
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (keydir / PUBLIC_KEY_FILE).write_bytes(public_pem)
    return key


def load_public_keys(keydir: Path) -> dict[str, Ed25519PublicKey]:
    """Every public key in the directory (`*.pub.pem`: the current one and any retired ones), by id."""
    keys: dict[str, Ed25519PublicKey] = {}
    if not keydir.is_dir():
        return keys
    for path in sorted(keydir.glob("*.pub.pem")):
        loaded = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys[key_id(loaded)] = loaded
    return keys


# --- checkpoint lines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the log's first `tree_size` rows have Merkle root `root`."""

    tree_size: int
    root: bytes
    last_seq: int
    last_row_hash: bytes
    created_at: str
    key_id: str
    signature: bytes
    line: int = 0  # position in the file (1-based) when read back

    def message(self) -> bytes:
        return (
            f"{_MESSAGE_TAG}\n{self.tree_size}\n{self.root.hex()}\n{self.last_seq}\n"
            f"{self.last_row_hash.hex()}\n{self.created_at}\n"
        ).encode()

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "tree_size": self.tree_size,
                "root": self.root.hex(),
                "last_seq": self.last_seq,
                "last_row_hash": self.last_row_hash.hex(),
                "created_at": self.created_at,
                "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii"),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str, line: int = 0) -> Checkpoint:
        obj = json.loads(text)
        if not isinstance(obj, dict) or obj.get("v") != 1:
            raise ValueError("unknown checkpoint format")
        tree_size, last_seq = obj["tree_size"], obj["last_seq"]
        if not isinstance(tree_size, int) or not isinstance(last_seq, int) or tree_size < 0:
            raise ValueError("tree_size / last_seq must be integers")
        return cls(
            tree_size=tree_size,
            root=bytes.fromhex(obj["root"]),
            last_seq=last_seq,
            last_row_hash=bytes.fromhex(obj["last_row_hash"]),
            created_at=str(obj["created_at"]),
            key_id=str(obj["key_id"]),
            signature=base64.b64decode(obj["signature"], validate=True),
            line=line,
        )

    def signature_valid(self, keys: dict[str, Ed25519PublicKey]) -> bool:
        key = keys.get(self.key_id)
        if key is None:
            return False
        try:
            key.verify(self.signature, self.message())
        except InvalidSignature:
            return False
        return True


def read_checkpoints(path: Path) -> tuple[list[Checkpoint], list[Finding]]:
    """All checkpoints in the file (none if it does not exist) and findings for unreadable lines."""
    checkpoints: list[Checkpoint] = []
    findings: list[Finding] = []
    if not path.exists():
        return checkpoints, findings
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                checkpoints.append(Checkpoint.from_json(text, line=number))
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                findings.append(Finding("A_CHECKPOINT_FORMAT", str(exc), line=number))
    return checkpoints, findings


# --- the scan ------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """What one pass over the log found, and the log's state at the end of it."""

    rows: int = 0
    last_seq: int = 0
    last_row_hash: bytes = GENESIS_HASH
    root: bytes = field(default_factory=lambda: hashlib.sha256(b"").digest())
    checkpoints_checked: int = 0
    unsealed: int = 0  # committed rows not yet in the chain (migration 0015)
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0
    max_findings: int = 1000

    def add(self, finding: Finding) -> None:
        self.findings_total += 1
        if len(self.findings) < self.max_findings:
            self.findings.append(finding)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


@contextmanager
def _snapshot(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """One consistent view of the log and its head (REPEATABLE READ) when the caller has none open."""
    if conn.info.transaction_status == TransactionStatus.IDLE:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    else:
        yield


def _rows(conn: psycopg.Connection[Any]) -> Iterator[LogEntry]:
    with conn.cursor(name="juki_operation_log_scan") as cur:
        cur.itersize = _FETCH
        cur.execute(f"SELECT {ROW_COLUMNS} FROM audit.op_log WHERE chain_pos IS NOT NULL ORDER BY chain_pos")
        for row in cur:
            yield LogEntry.from_db(row)


def _check_checkpoint(
    result: ScanResult, cp: Checkpoint, acc: MerkleAccumulator, last: LogEntry | None
) -> None:
    result.checkpoints_checked += 1
    if acc.root() != cp.root:
        result.add(Finding("A_CHECKPOINT_ROOT", f"件数 {cp.tree_size}", line=cp.line))
    elif cp.tree_size and last is not None and (cp.last_seq, cp.last_row_hash) != (last.seq, last.row_hash):
        result.add(Finding("A_CHECKPOINT_ROOT", f"最終行 {cp.last_seq}", seq=last.seq, line=cp.line))


def scan_log(
    conn: psycopg.Connection[Any],
    checkpoints: Iterable[Checkpoint] = (),
    public_keys: dict[str, Ed25519PublicKey] | None = None,
) -> ScanResult:
    """Verify the whole log in one streaming pass.

    The chain is the sealed rows in chain_pos order (migration 0015). Per row: the hash recomputed
    from its content (A_ROW_HASH), the link to the previous row (A_CHAIN_BROKEN), chain positions
    contiguous from 1 (A_SEQ_GAP). Committed rows not sealed yet are counted (A_UNSEALED, a warning:
    a transaction holding the sealing lock has not ended; the next seal takes them in). Per
    checkpoint: the signature (A_CHECKPOINT_SIGNATURE, A_KEY_MISSING) and the Merkle root of the
    first tree_size rows
    (A_CHECKPOINT_ROOT); a checkpoint larger than the log is A_TRUNCATED. Finally the chain head
    must name the last row and its position (A_HEAD_MISMATCH).
    """
    result = ScanResult()
    pending = sorted(checkpoints, key=lambda c: (c.tree_size, c.line))
    if public_keys is not None:
        for cp in sorted(pending, key=lambda c: c.line):
            if cp.key_id not in public_keys:
                result.add(Finding("A_KEY_MISSING", f"key_id {cp.key_id}", line=cp.line))
            elif not cp.signature_valid(public_keys):
                result.add(Finding("A_CHECKPOINT_SIGNATURE", line=cp.line))
    acc = MerkleAccumulator()
    with _snapshot(conn):
        head = conn.execute("SELECT last_pos, last_seq, last_hash FROM audit.chain_head").fetchall()
        unsealed = conn.execute("SELECT count(*) FROM audit.op_log WHERE chain_pos IS NULL").fetchone()
        result.unsealed = int(unsealed[0]) if unsealed else 0
        prev: LogEntry | None = None
        index = 0
        while index < len(pending) and pending[index].tree_size == 0:
            _check_checkpoint(result, pending[index], acc, None)
            index += 1
        for row in _rows(conn):
            expected_pos = (prev.chain_pos or 0) + 1 if prev else 1
            if row.chain_pos != expected_pos:
                result.add(Finding("A_SEQ_GAP", f"{expected_pos - 1} の次が {row.chain_pos}", seq=row.seq))
            expected_prev = prev.row_hash if prev else GENESIS_HASH
            if row.prev_hash != expected_prev:
                result.add(Finding("A_CHAIN_BROKEN", seq=row.seq))
            if row.expected_hash() != row.row_hash:
                result.add(Finding("A_ROW_HASH", seq=row.seq))
            acc.add(row.row_hash or b"")
            prev = row
            while index < len(pending) and pending[index].tree_size == acc.size:
                _check_checkpoint(result, pending[index], acc, row)
                index += 1
    for cp in pending[index:]:
        result.add(
            Finding("A_TRUNCATED", f"チェックポイント {cp.tree_size} 件、ログ {acc.size} 件", line=cp.line)
        )
    result.rows = acc.size
    result.root = acc.root()
    if prev is not None:
        result.last_seq, result.last_row_hash = prev.seq, prev.row_hash or b""
    last_pos = prev.chain_pos if prev is not None else 0
    found_head = (int(head[0][0]), int(head[0][1]), bytes(head[0][2])) if len(head) == 1 else None
    if found_head != (last_pos, result.last_seq, result.last_row_hash):
        result.add(Finding("A_HEAD_MISMATCH", seq=result.last_seq))
    if result.unsealed:
        result.add(Finding("A_UNSEALED", f"{result.unsealed} 件"))
    return result


def seal(conn: psycopg.Connection[Any]) -> int:
    """Seal the committed rows not yet in the chain, in a short transaction of its own; return how
    many. Does nothing inside a caller's open transaction (its snapshot may be older than the last
    seal) or while another transaction holds the sealing lock (it never waits: migration 0015)."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return 0
    with conn.transaction():
        row = conn.execute("SELECT audit_api.seal()").fetchone()
    return int(row[0]) if row else 0


def _check_order(checkpoints: list[Checkpoint], result: ScanResult) -> None:
    """Checkpoints are appended over time: a later line never counts fewer rows."""
    largest = 0
    for cp in sorted(checkpoints, key=lambda c: c.line):
        if cp.tree_size < largest:
            result.add(Finding("A_CHECKPOINT_ORDER", f"{largest} → {cp.tree_size}", line=cp.line))
        largest = max(largest, cp.tree_size)


def check_all(
    conn: psycopg.Connection[Any], keydir: Path, checkpoint_file: Path, *, require_checkpoint: bool = True
) -> tuple[ScanResult, list[Checkpoint]]:
    """Read the checkpoint file and the keys, scan the log against them; the shared core of
    `create_checkpoint` and `audit_verify.verify`.

    With `require_checkpoint` (verification) a log with rows but no checkpoint is an error,
    A_NO_CHECKPOINT: a deleted checkpoint file, or `--checkpoints` naming the wrong file, must not
    pass as "the chain alone verified", since a superuser can rewrite and re-hash a whole chain.
    Only a new, empty log may have none (A_NEW_LOG, a warning). `create_checkpoint` passes False:
    it is how the first checkpoint comes to exist."""
    checkpoints, format_findings = read_checkpoints(checkpoint_file)
    keys = load_public_keys(keydir)
    seal(conn)
    result = scan_log(conn, checkpoints, keys)
    for finding in format_findings:
        result.add(finding)
    _check_order(checkpoints, result)
    if not checkpoints and require_checkpoint:
        if result.rows == 0 and result.unsealed == 0:
            result.add(Finding("A_NEW_LOG"))
        else:
            result.add(
                Finding("A_NO_CHECKPOINT", f"{checkpoint_file.name}: ログ {result.rows + result.unsealed} 件")
            )
    return result, checkpoints


def create_checkpoint(
    conn: psycopg.Connection[Any], keydir: Path, outdir: Path, *, now: datetime | None = None
) -> Checkpoint:
    """Verify the log, then sign a checkpoint over all of it and append it to `outdir/checkpoints.jsonl`.

    Refuses (CheckpointRefused) when the log or an earlier checkpoint does not verify: signing a
    tampered log would make the tampering look legitimate. The signing key is generated in
    `keydir` on first use.
    """
    key = ensure_key(keydir)
    outdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = outdir / CHECKPOINT_FILE
    result, _ = check_all(conn, keydir, path, require_checkpoint=False)
    if result.errors:
        raise CheckpointRefused(result.errors)
    created = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    unsigned = Checkpoint(
        tree_size=result.rows,
        root=result.root,
        last_seq=result.last_seq,
        last_row_hash=result.last_row_hash,
        created_at=created,
        key_id=key_id(key.public_key()),
        signature=b"",
    )
    checkpoint = replace(unsigned, signature=key.sign(unsigned.message()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (checkpoint.to_json() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint
