"""Incremental checkpoints of SESSION windows: one store entry per open session.

A key's sessions are few and short-lived, so the aggregate operator holds them in memory
(``windows.SessionAssigner`` and the accumulators, indexed by session id); what this module
keeps small is the checkpoint. A batch stamps the sessions it updated (``_core.groupstate``); a
checkpoint writes the sessions stamped since the last one and deletes the ones merged away or
closed since — an unchanged session costs nothing.

Store layout (tables of the operator's view)::

    sessions   sequence (keycodec int64)  → valuecodec (key values, start, last, the
                                            accumulators' input types, their states)
    aggregate  b"s"                       → valuecodec header: watermark, input types, key
                                            column types, next sequence number

A session's sequence number (``SessionAssigner.seqs``) is given when it opens and survives
restarts; sessions closing with the same end are emitted in its order, so a restored job emits
exactly what an uninterrupted one does.
"""

from __future__ import annotations

from array import array

from velostream._core import groupstate as G
from velostream._core.keycodec import encode_int64
from velostream._core.valuecodec import decode_values, encode_values
from velostream.runtime.group_state import HEADER_KEY, META, load_states
from velostream.state.store import WriteBatch

SESSIONS = "sessions"
_NOT_MADE = -1          # as runtime.aggregate: an accumulator not made yet


class SessionCheckpoints:
    """The store side of one AggregateOperator's sessions."""

    def __init__(self, op):
        self.op = op
        self.stamps = array("q")     # per session id: the batch that last updated it
        self.batch_no = 0
        self.mark = 0                # batch number at the last checkpoint
        self.gone: list = []         # sequence numbers of sessions dropped since then
        self.key_types: list | None = None

    def next_batch(self) -> None:
        self.batch_no += 1

    def touched(self, sids, n: int) -> None:
        G.stamp(sids, n, self.stamps, self.batch_no)

    def dropped(self, sids) -> None:
        """Sessions merged away or closed (before their ids are handed out again)."""
        if len(sids):
            self.gone.extend(self.op._sessions.seqs(array("q", sids)))

    def snapshot(self, view) -> None:
        op = self.op
        batch = WriteBatch()
        for seq in self.gone:
            batch.delete(SESSIONS, encode_int64(seq))
        self.gone = []
        sessions = op._sessions
        next_seq = 0
        if sessions is not None:
            next_seq = sessions.next_seq
            open_ = [(kid, s[2]) for kid, found in sessions.sessions.items() for s in found]
            sids = array("q", [sid for _, sid in open_])
            changed = set(G.changed(sids, self.stamps, self.mark)) if len(sids) else set()
            picked = [(kid, sid) for kid, sid in open_ if sid in changed]
            if picked:
                self._write(picked, batch)
        header = (op.watermark, list(op._input_types), self.key_types, next_seq)
        batch.put(META, HEADER_KEY, encode_values(header))
        view.write(batch)
        self.mark = self.batch_no

    def _write(self, picked, batch) -> None:
        op = self.op
        sids = array("q", [sid for _, sid in picked])
        kids = array("q", [kid for kid, _ in picked])
        if op.keys:
            columns = op._session_keys.keys(kids)
            if self.key_types is None:
                self.key_types = [c.type for c in columns]
            keys = list(zip(*(c.to_pylist() for c in columns)))
        else:
            keys = [()] * len(sids)
        starts, lasts = op._sessions.bounds(sids)
        seqs = op._sessions.seqs(sids)
        types = list(op._input_types)
        states = [acc.snapshot(sids) if acc is not None else None for acc in op._accs]
        for i in range(len(sids)):
            value = encode_values((keys[i], starts[i], lasts[i], types,
                                   [st[i] if st is not None else None for st in states]))
            batch.put(SESSIONS, encode_int64(seqs[i]), value)

    def restore(self, view) -> None:
        """Every open session back in memory, with its sequence number."""
        from velostream._core import windows as W
        from velostream.runtime.aggregate import _ids, _kernel, column_of

        op = self.op
        raw = view.table(META).get(HEADER_KEY)
        if raw is None:
            return
        op.watermark, types, key_types, next_seq = decode_values(raw)
        op._input_types = list(types)
        for j, t in enumerate(types):
            if t != _NOT_MADE:
                op._make_accumulator(j, t)
        self.key_types = None if key_types is None else list(key_types)
        op._sessions = W.SessionAssigner(op.window.size)
        op._sessions.next_seq = next_seq
        op._session_keys = _kernel().GroupTable(len(op.keys)) if op.keys else None
        entries = [(key, decode_values(v)) for key, v in view.table(SESSIONS).scan(b"")]
        if not entries:
            return
        n = len(entries)
        if op.keys:
            columns = [column_of([e[0][k] for _, e in entries], self.key_types[k])
                       for k in range(len(op.keys))]
            kids = op._session_keys.assign(columns, n)
        else:
            kids = _ids(n)
        sids = array("q", [op._sessions.add(kid, e[1], e[2], _seq(key))
                           for kid, (key, e) in zip(kids, entries)])
        op._sessions.next_seq = max(op._sessions.next_seq, next_seq)
        load_states(op, sids, [e[3] for _, e in entries], [e[4] for _, e in entries])


def _seq(key: bytes) -> int:
    """The sequence number of a ``sessions`` key (keycodec int64: tag + 8 bytes)."""
    return int.from_bytes(key[1:], "big") - (1 << 63)
