"""Tabu search on the disjunctive graph of a job shop (makespan), compiled with numba.

Hand-written because no maintained library offers it and Python is ~100x too slow for it: the
search makes about 10^5 moves a second, each a full head/tail pass over the graph. The method
follows Nowicki & Smutnicki (Management Science 42(6), 1996) with the N6 neighbourhood of
Balas & Vazacopoulos as used by Zhang et al. (Computers & OR 34, 2007): moves inside critical
blocks ranked by the head/tail estimate, a tabu list on re-created pairs with aspiration, and
episodes restarting from an elite pool of good schedules with a random perturbation. Flexible
shops add moves of a critical operation to another eligible machine.

Data layout (operations numbered 0..n-1, machine assignment fixed): ``p`` durations,
``release`` earliest starts, job precedences as CSR arrays (``jp_ptr``/``jp_idx`` predecessors,
``js_ptr``/``js_idx`` successors), machine sequences as ``first[m]`` and ``mprev``/``mnext``.
Heads ``r`` are start times; tails ``q`` exclude the operation itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = ["evaluate", "tabu_steps"]

EMPTY = 1 << 62
"""Makespan of an empty elite-pool slot."""

_F = TypeVar("_F", bound=Callable[..., Any])
_jit = cast(Callable[[_F], _F], numba.njit(cache=True, nogil=True))


@_jit
def evaluate(
    p: np.ndarray,
    release: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    mprev: np.ndarray,
    mnext: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    order: np.ndarray,
) -> int:
    """Heads, tails and the makespan of the graph; -1 when it has a cycle."""
    n = p.shape[0]
    indeg = np.empty(n, np.int64)
    for v in range(n):
        indeg[v] = jp_ptr[v + 1] - jp_ptr[v] + (1 if mprev[v] >= 0 else 0)
    top = 0
    for v in range(n):
        if indeg[v] == 0:
            order[top] = v
            top += 1
    head = 0
    while head < top:
        v = order[head]
        head += 1
        for k in range(js_ptr[v], js_ptr[v + 1]):
            s = js_idx[k]
            indeg[s] -= 1
            if indeg[s] == 0:
                order[top] = s
                top += 1
        s = mnext[v]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[top] = s
                top += 1
    if top < n:
        return -1
    for i in range(n):
        v = order[i]
        t = release[v]
        for k in range(jp_ptr[v], jp_ptr[v + 1]):
            u = jp_idx[k]
            if r[u] + p[u] > t:
                t = r[u] + p[u]
        u = mprev[v]
        if u >= 0 and r[u] + p[u] > t:
            t = r[u] + p[u]
        r[v] = t
    cmax = 0
    for i in range(n - 1, -1, -1):
        v = order[i]
        t = 0
        for k in range(js_ptr[v], js_ptr[v + 1]):
            s = js_idx[k]
            if p[s] + q[s] > t:
                t = p[s] + q[s]
        s = mnext[v]
        if s >= 0 and p[s] + q[s] > t:
            t = p[s] + q[s]
        q[v] = t
        if r[v] + p[v] + t > cmax:
            cmax = r[v] + p[v] + t
    return cmax


@_jit
def _critical_path(
    p: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    mprev: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    cmax: int,
    path: np.ndarray,
) -> int:
    """One critical path, first operation first; returns its length."""
    n = p.shape[0]
    v = -1
    for u in range(n):
        if r[u] + p[u] == cmax and q[u] == 0:
            v = u
            break
    count = 0
    while v >= 0:
        path[count] = v
        count += 1
        nxt = -1
        u = mprev[v]
        if u >= 0 and r[u] + p[u] == r[v]:
            nxt = u
        else:
            for k in range(jp_ptr[v], jp_ptr[v + 1]):
                u = jp_idx[k]
                if r[u] + p[u] == r[v]:
                    nxt = u
                    break
        v = nxt
    path[:count] = path[:count][::-1].copy()
    return count


@_jit
def _reorder_estimate(
    seg: np.ndarray,
    k: int,
    p: np.ndarray,
    release: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    before: int,
    after: int,
) -> int:
    """Estimated makespan when one machine's run between ``before`` and ``after`` becomes ``seg``.

    Heads forward and tails backward along the new order, with the old heads and tails of the
    job neighbours (Balas & Vazacopoulos' estimate; Taillard's for a swap).
    """
    end = 0
    if before >= 0:
        end = r[before] + p[before]
    heads = np.empty(k, np.int64)
    for i in range(k):
        x = seg[i]
        t = max(release[x], end)
        for j in range(jp_ptr[x], jp_ptr[x + 1]):
            w = jp_idx[j]
            t = max(t, r[w] + p[w])
        heads[i] = t
        end = t + p[x]
    tail = 0
    if after >= 0:
        tail = p[after] + q[after]
    est = 0
    for i in range(k - 1, -1, -1):
        x = seg[i]
        t = tail
        for j in range(js_ptr[x], js_ptr[x + 1]):
            w = js_idx[j]
            t = max(t, p[w] + q[w])
        est = max(est, heads[i] + p[x] + t)
        tail = p[x] + t
    return est


@_jit
def _relink(
    seg: np.ndarray,
    k: int,
    before: int,
    after: int,
    machine: int,
    first: np.ndarray,
    mprev: np.ndarray,
    mnext: np.ndarray,
) -> None:
    """Make ``seg`` the machine's run between ``before`` and ``after``."""
    prev = before
    for i in range(k):
        x = seg[i]
        if prev >= 0:
            mnext[prev] = x
        else:
            first[machine] = x
        mprev[x] = prev
        prev = x
    mnext[prev] = after
    if after >= 0:
        mprev[after] = prev


@_jit
def _moved(block: np.ndarray, k: int, src: int, dst: int, out: np.ndarray) -> None:
    """``block`` with its element at ``src`` moved to position ``dst``."""
    x = block[src]
    w = 0
    for i in range(k):
        if i == src:
            continue
        if w == dst:
            out[w] = x
            w += 1
        out[w] = block[i]
        w += 1
    if w == dst:
        out[w] = x


@_jit
def _blocks(path: np.ndarray, length: int, mnext: np.ndarray, starts: np.ndarray) -> int:
    """Split a critical path into blocks (runs of machine neighbours); ``starts`` ends at length."""
    count = 0
    starts[0] = 0
    for i in range(1, length):
        if mnext[path[i - 1]] != path[i]:
            count += 1
            starts[count] = i
    count += 1
    starts[count] = length
    return count


@_jit
def _unlink(x: int, machine: int, first: np.ndarray, mprev: np.ndarray, mnext: np.ndarray) -> None:
    a, b = mprev[x], mnext[x]
    if a >= 0:
        mnext[a] = b
    else:
        first[machine] = b
    if b >= 0:
        mprev[b] = a


@_jit
def _link(
    x: int, a: int, b: int, machine: int, first: np.ndarray, mprev: np.ndarray, mnext: np.ndarray
) -> None:
    """Put ``x`` between ``a`` and ``b`` (machine neighbours; -1 for the ends)."""
    mprev[x], mnext[x] = a, b
    if a >= 0:
        mnext[a] = x
    else:
        first[machine] = x
    if b >= 0:
        mprev[b] = x


@_jit
def _best_reassignment(
    path: np.ndarray,
    length: int,
    p: np.ndarray,
    release: np.ndarray,
    mach: np.ndarray,
    alt_ptr: np.ndarray,
    alt_mach: np.ndarray,
    alt_dur: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    first: np.ndarray,
    mnext: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    forbid_machine: np.ndarray,
    it: int,
    best: int,
    out: np.ndarray,
) -> int:
    """Best non-tabu move of a critical operation to another eligible machine, or -1.

    Estimate of the longest path through the operation at each position of the other machine
    (Mastrolilli & Gambardella's insertion, J. Scheduling 3, 2000, without their position
    filter: a cycle is caught when the move is made). ``out`` = [op, machine, duration, after,
    before]; returns the estimate.
    """
    pick = -1
    for i in range(length):
        x = path[i]
        if alt_ptr[x + 1] - alt_ptr[x] < 2:
            continue
        ready = release[x]
        for j in range(jp_ptr[x], jp_ptr[x + 1]):
            w = jp_idx[j]
            ready = max(ready, r[w] + p[w])
        rest = 0
        for j in range(js_ptr[x], js_ptr[x + 1]):
            w = js_idx[j]
            rest = max(rest, p[w] + q[w])
        for k in range(alt_ptr[x], alt_ptr[x + 1]):
            m2 = alt_mach[k]
            if m2 == mach[x]:
                continue
            tabu = forbid_machine[x, m2] > it
            a = -1
            b = first[m2]
            while True:
                head = ready if a < 0 else max(ready, r[a] + p[a])
                tail = rest if b < 0 else max(rest, p[b] + q[b])
                est = head + alt_dur[k] + tail
                if (not tabu or est < best) and (pick < 0 or est < pick):
                    pick = est
                    out[0], out[1], out[2], out[3], out[4] = x, m2, alt_dur[k], a, b
                if b < 0:
                    break
                a = b
                b = mnext[b]
    return pick


@_jit
def _random_reassignment(
    path: np.ndarray,
    length: int,
    p: np.ndarray,
    release: np.ndarray,
    mach: np.ndarray,
    alt_ptr: np.ndarray,
    alt_mach: np.ndarray,
    alt_dur: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    first: np.ndarray,
    mprev: np.ndarray,
    mnext: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    order: np.ndarray,
) -> None:
    """Perturbation: a random critical operation to a random other machine, in start order."""
    x = path[np.random.randint(0, length)]
    count = alt_ptr[x + 1] - alt_ptr[x]
    if count < 2:
        return
    k = alt_ptr[x] + np.random.randint(0, count)
    m2, old_machine = alt_mach[k], mach[x]
    if m2 == old_machine:
        return
    a, b = mprev[x], mnext[x]
    old_p = p[x]
    _unlink(x, old_machine, first, mprev, mnext)
    after = -1
    y = first[m2]
    while y >= 0 and r[y] <= r[x]:
        after = y
        y = mnext[y]
    _link(x, after, y, m2, first, mprev, mnext)
    p[x], mach[x] = alt_dur[k], m2
    if evaluate(p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order) < 0:
        _unlink(x, m2, first, mprev, mnext)
        _link(x, a, b, old_machine, first, mprev, mnext)
        p[x], mach[x] = old_p, old_machine


@_jit
def _save(
    pool: np.ndarray,
    slot: int,
    first: np.ndarray,
    mprev: np.ndarray,
    mnext: np.ndarray,
    p: np.ndarray,
    mach: np.ndarray,
) -> None:
    """Store a schedule in ``pool[slot]`` (rows first, mprev, mnext, p, mach)."""
    m, n = first.shape[0], p.shape[0]
    pool[slot, 0, :m] = first
    pool[slot, 1, :n] = mprev
    pool[slot, 2, :n] = mnext
    pool[slot, 3, :n] = p
    pool[slot, 4, :n] = mach


@_jit
def _load(
    pool: np.ndarray,
    slot: int,
    first: np.ndarray,
    mprev: np.ndarray,
    mnext: np.ndarray,
    p: np.ndarray,
    mach: np.ndarray,
) -> None:
    m, n = first.shape[0], p.shape[0]
    first[:] = pool[slot, 0, :m]
    mprev[:] = pool[slot, 1, :n]
    mnext[:] = pool[slot, 2, :n]
    p[:] = pool[slot, 3, :n]
    mach[:] = pool[slot, 4, :n]


@_jit
def _admit(pool: np.ndarray, pool_cmax: np.ndarray, n: int) -> None:
    """Move the episode's best (last slot) into the elite pool if it is new and beats the worst."""
    k = pool_cmax.shape[0] - 1
    c = pool_cmax[k]
    worst = 0
    for i in range(k):
        if pool_cmax[i] > pool_cmax[worst]:
            worst = i
        if pool_cmax[i] == c:
            same = True
            for v in range(n):
                if pool[i, 2, v] != pool[k, 2, v] or pool[i, 4, v] != pool[k, 4, v]:
                    same = False
                    break
            if same:
                return
    if c < pool_cmax[worst]:
        pool[worst] = pool[k]
        pool_cmax[worst] = c


@_jit
def _pick_elite(pool_cmax: np.ndarray) -> int:
    """A random filled slot of the elite pool (empty slots hold EMPTY)."""
    k = pool_cmax.shape[0] - 1
    filled = 0
    for i in range(k):
        if pool_cmax[i] < EMPTY:
            filled += 1
    pick = np.random.randint(0, filled)
    for i in range(k):
        if pool_cmax[i] < EMPTY:
            if pick == 0:
                return i
            pick -= 1
    return 0


@_jit
def tabu_steps(
    p: np.ndarray,
    release: np.ndarray,
    mach: np.ndarray,
    alt_ptr: np.ndarray,
    alt_mach: np.ndarray,
    alt_dur: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    seqs: np.ndarray,
    forbid: np.ndarray,
    forbid_machine: np.ndarray,
    pool: np.ndarray,
    pool_cmax: np.ndarray,
    state: np.ndarray,
    lower_bound: int,
    steps: int,
    stall_limit: int,
    seed: int,
) -> bool:
    """Run up to ``steps`` tabu moves; return False when no move is left (one critical block).

    ``seqs`` rows are the current ``first``/``mprev``/``mnext`` (rows 0-2, ``first`` padded), the
    best ones (rows 3-5) and the best ``p`` and ``mach`` (rows 6-7); ``p`` and ``mach`` change
    in place when an operation moves to another machine.
    ``forbid[a, b] > iteration`` forbids re-creating "a before b", ``forbid_machine[x, m]``
    moving ``x`` back to machine ``m``. Eligible (machine, duration) pairs are CSR ``alt_*``.
    ``state`` is [iteration, stall, best]. The caller runs slices of ``steps`` and reads the clock
    between them.

    The search runs in episodes: after ``stall_limit`` moves without improving the episode's best,
    that best joins an elite pool (``pool``/``pool_cmax``, the last slot holds the episode's best)
    if it is new and beats the pool's worst, and the next episode starts from a random elite,
    perturbed, with a fresh tabu list. Restarting always from the overall best kept every episode
    in one basin (la21 stayed at 1048-1053 for 20 s).

    Moves (N6 of Balas & Vazacopoulos as used by Zhang et al., Computers & OR 34, 2007): in a
    critical block, move an operation to the block's front (not in the first block) or to its
    back (not in the last block); the N5 swaps are the special case of a neighbour. In a flexible
    shop a critical operation may also move to another eligible machine, at its best position.
    """
    np.random.seed(seed)
    n = p.shape[0]
    num_machines = forbid_machine.shape[1]
    first, mprev, mnext = seqs[0, :num_machines], seqs[1], seqs[2]
    best_first, best_prev, best_next = seqs[3, :num_machines], seqs[4], seqs[5]
    best_p, best_mach = seqs[6, :n], seqs[7, :n]
    flexible = alt_ptr[n] > n
    reassign = np.empty(5, np.int64)
    r = np.zeros(n, np.int64)
    q = np.zeros(n, np.int64)
    order = np.empty(n, np.int64)
    path = np.empty(n, np.int64)
    starts = np.empty(n + 1, np.int64)
    seg = np.empty(n, np.int64)
    old = np.empty(n, np.int64)
    it, stall, best = state[0], state[1], state[2]
    episode = pool_cmax.shape[0] - 1
    cmax = evaluate(p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order)
    jobs_per_machine = n // (num_machines * num_machines)
    # Short tabu tenure: 3 + jobs/machines moves plus up to half again (Zhang et al. use 10 +
    # jobs/machines; on la29, 30 s alone, 16 seeds: 1164.9 mean against 1159.3; docs/scheduling.md)
    tenure_base = 3 + jobs_per_machine
    alive = True
    for _ in range(steps):
        if best <= lower_bound:
            break
        it += 1
        length = _critical_path(p, jp_ptr, jp_idx, mprev, r, q, cmax, path)
        nblocks = _blocks(path, length, mnext, starts)
        pick_block, pick_src, pick_dst = -1, 0, 0
        pick_est = 1 << 62
        ties = 0
        fallback_block, fallback_src, fallback_dst = -1, 0, 0
        fallback_until = 1 << 62
        for bi in range(nblocks):
            s0, k = starts[bi], starts[bi + 1] - starts[bi]
            if k < 2:
                continue
            block = path[s0 : s0 + k]
            before, after = mprev[block[0]], mnext[block[k - 1]]
            for direction in range(2):
                if direction == 0 and bi == 0:
                    continue  # moving to the front of the first block cannot help
                if direction == 1 and (bi == nblocks - 1 or (k == 2 and bi > 0)):
                    continue  # the last block's back; a pair's back move repeats its front move
                for src in range(1, k) if direction == 0 else range(k - 1):
                    dst = 0 if direction == 0 else k - 1
                    x = block[src]
                    until = 0
                    if direction == 0:
                        for i in range(src):
                            until = max(until, forbid[x, block[i]])
                    else:
                        for i in range(src + 1, k):
                            until = max(until, forbid[block[i], x])
                    _moved(block, k, src, dst, seg)
                    est = _reorder_estimate(
                        seg,
                        k,
                        p,
                        release,
                        jp_ptr,
                        jp_idx,
                        js_ptr,
                        js_idx,
                        r,
                        q,
                        before,
                        after,
                    )
                    if until > it and est >= best:
                        if until < fallback_until:
                            fallback_block, fallback_src, fallback_dst = bi, src, dst
                            fallback_until = until
                        continue
                    if est < pick_est:
                        pick_block, pick_src, pick_dst, pick_est, ties = bi, src, dst, est, 1
                    elif est == pick_est:
                        ties += 1
                        if np.random.randint(0, ties) == 0:
                            pick_block, pick_src, pick_dst = bi, src, dst
        if flexible:
            est = _best_reassignment(
                path,
                length,
                p,
                release,
                mach,
                alt_ptr,
                alt_mach,
                alt_dur,
                jp_ptr,
                jp_idx,
                js_ptr,
                js_idx,
                first,
                mnext,
                r,
                q,
                forbid_machine,
                it,
                best,
                reassign,
            )
            if est >= 0 and (pick_block < 0 or est < pick_est):
                x, m2, old_machine = reassign[0], reassign[1], mach[reassign[0]]
                a, b = mprev[x], mnext[x]
                old_p = p[x]
                _unlink(x, old_machine, first, mprev, mnext)
                _link(x, reassign[3], reassign[4], m2, first, mprev, mnext)
                p[x], mach[x] = reassign[2], m2
                tenure = tenure_base + np.random.randint(0, tenure_base // 2 + 2)
                forbid_machine[x, old_machine] = it + tenure
                cmax = evaluate(
                    p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                )
                if cmax < 0:  # undo; the move back stays tabu, so try another next time
                    _unlink(x, m2, first, mprev, mnext)
                    _link(x, a, b, old_machine, first, mprev, mnext)
                    p[x], mach[x] = old_p, old_machine
                    forbid_machine[x, m2] = it + tenure
                    cmax = evaluate(
                        p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                    )
                    continue
                pick_block = -2
        if pick_block == -1:
            if fallback_block >= 0:
                pick_block, pick_src, pick_dst = fallback_block, fallback_src, fallback_dst
            elif not flexible:
                alive = False  # one critical block from time 0: optimal
                break
            else:
                stall = stall_limit - 1  # no move left here: next episode below
        if pick_block >= 0:
            s0, k = starts[pick_block], starts[pick_block + 1] - starts[pick_block]
            block = path[s0 : s0 + k]
            old[:k] = block
            before, after = mprev[block[0]], mnext[block[k - 1]]
            _moved(old, k, pick_src, pick_dst, seg)
            machine = mach[old[0]]
            _relink(seg, k, before, after, machine, first, mprev, mnext)
            x = old[pick_src]
            tenure = tenure_base + np.random.randint(0, tenure_base // 2 + 2)
            if pick_dst == 0:
                for i in range(pick_src):
                    forbid[old[i], x] = it + tenure
            else:
                for i in range(pick_src + 1, k):
                    forbid[x, old[i]] = it + tenure
            cmax = evaluate(p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order)
            if cmax < 0:  # the move closed a cycle: undo it, it stays tabu
                _relink(old, k, before, after, machine, first, mprev, mnext)
                cmax = evaluate(
                    p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                )
                continue
        if 0 <= cmax < pool_cmax[episode]:
            pool_cmax[episode] = cmax
            _save(pool, episode, first, mprev, mnext, p, mach)
            stall = 0
        else:
            stall += 1
        if 0 <= cmax < best:
            best = cmax
            best_first[:] = first
            best_prev[:] = mprev
            best_next[:] = mnext
            best_p[:] = p
            best_mach[:] = mach
        if stall >= stall_limit:
            # restart from an elite with a few random critical moves and a fresh tabu list
            _admit(pool, pool_cmax, n)
            pool_cmax[episode] = EMPTY
            _load(pool, _pick_elite(pool_cmax), first, mprev, mnext, p, mach)
            forbid[:, :] = 0
            forbid_machine[:, :] = 0
            cmax = evaluate(p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order)
            for _ in range(2 + np.random.randint(0, 4)):
                length = _critical_path(p, jp_ptr, jp_idx, mprev, r, q, cmax, path)
                if flexible and np.random.random() < 0.5:
                    _random_reassignment(
                        path,
                        length,
                        p,
                        release,
                        mach,
                        alt_ptr,
                        alt_mach,
                        alt_dur,
                        jp_ptr,
                        jp_idx,
                        js_ptr,
                        js_idx,
                        first,
                        mprev,
                        mnext,
                        r,
                        q,
                        order,
                    )
                    cmax = evaluate(
                        p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                    )
                    continue
                adjacent = 0
                for i in range(length - 1):
                    if mnext[path[i]] == path[i + 1]:
                        starts[adjacent] = i
                        adjacent += 1
                if adjacent == 0:
                    break
                i = starts[np.random.randint(0, adjacent)]
                u, v = path[i], path[i + 1]
                a, b = mprev[u], mnext[v]
                old[0], old[1] = v, u
                _relink(old, 2, a, b, mach[u], first, mprev, mnext)
                cmax = evaluate(
                    p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                )
                if cmax < 0:  # u -> v was also a job arc (two steps of a job on one machine)
                    old[0], old[1] = u, v
                    _relink(old, 2, a, b, mach[u], first, mprev, mnext)
                    cmax = evaluate(
                        p, release, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order
                    )
            stall = 0
    state[0], state[1], state[2] = it, stall, best
    return alive
