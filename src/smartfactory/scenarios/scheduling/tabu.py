"""Tabu search on the critical path of a job shop (N5 moves), compiled with numba.

CP-SAT proves optimality well but, on 2 cores and 10 s, stalls a few percent above the optimum on
the 15×10 to 20×15 instances (la21–la29, la38, la40, the Taillard sets). Local search on the
disjunctive graph is what finds those schedules in the literature (Nowicki & Smutnicki's TSAB,
Zhang et al.'s TS/SA): swap two adjacent operations at the border of a block of the critical
path (the N5 neighbourhood of Nowicki & Smutnicki 1996 — only these swaps can shorten the
makespan), pick the best by Taillard's O(1) estimate of the new longest path through the swapped
pair, and forbid undoing a swap for a random tenure. When the search stalls, it returns to the
best schedule and perturbs it with a few random critical swaps.

The compiled kernel runs in chunks of iterations without the GIL, so two threads search with
different seeds at once and Python checks the clock between chunks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from smartfactory.scenarios.scheduling.instances import JobShopInstance

CHUNK_ITERATIONS = 2000  # about 10–40 ms of search between clock checks
STALL_ITERATIONS = 20000  # this many steps without a better schedule: back to the best one, perturbed
PERTURB_MOVES = 8
TENURE_BASE = 5  # tenure: this plus jobs per machine, plus up to half again at random (Zhang et al. 2007)


@dataclass(frozen=True)
class Graph:
    """The fixed part of the disjunctive graph: durations, machines and job arcs per operation."""

    duration: np.ndarray
    machine: np.ndarray
    job_pred: np.ndarray
    job_succ: np.ndarray
    index: tuple[tuple[int, ...], ...]  # index[job][k] → operation number

    @classmethod
    def of(cls, instance: JobShopInstance) -> Graph:
        """The graph of ``instance``; operations are numbered job by job."""
        duration: list[int] = []
        machine: list[int] = []
        job_pred: list[int] = []
        job_succ: list[int] = []
        index: list[tuple[int, ...]] = []
        for job in instance.jobs:
            first = len(duration)
            index.append(tuple(range(first, first + len(job))))
            for k, (m, d) in enumerate(job):
                duration.append(d)
                machine.append(m)
                job_pred.append(first + k - 1 if k > 0 else -1)
                job_succ.append(first + k + 1 if k < len(job) - 1 else -1)
        return cls(
            np.asarray(duration, dtype=np.int64),
            np.asarray(machine, dtype=np.int64),
            np.asarray(job_pred, dtype=np.int64),
            np.asarray(job_succ, dtype=np.int64),
            tuple(index),
        )

    def machine_arcs(self, starts: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
        """Machine predecessor and successor of each operation in the order of ``starts``."""
        n = len(self.duration)
        flat = np.empty(n, dtype=np.int64)
        for j, row in enumerate(starts):
            for k, start in enumerate(row):
                flat[self.index[j][k]] = start
        pred = np.full(n, -1, dtype=np.int64)
        succ = np.full(n, -1, dtype=np.int64)
        for m in np.unique(self.machine):
            ops = np.flatnonzero(self.machine == m)
            # equal starts only happen with zero durations; the duration breaks the tie so the
            # zero-length one goes first and the order stays a valid sequence
            ordered = ops[np.lexsort((self.duration[ops], flat[ops]))]
            pred[ordered[1:]] = ordered[:-1]
            succ[ordered[:-1]] = ordered[1:]
        return pred, succ

    def starts_of(self, heads: np.ndarray) -> tuple[tuple[int, ...], ...]:
        """Start times per job and operation from the heads of the operations."""
        return tuple(tuple(int(heads[o]) for o in row) for row in self.index)


@njit(cache=True, nogil=True)
def _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo):  # type: ignore[no-untyped-def]
    """Heads (earliest starts) and tails (work after the end) by one topological pass; -1 on a cycle."""
    n = dur.shape[0]
    top = 0
    for o in range(n):
        indeg[o] = (jpred[o] >= 0) + (mpred[o] >= 0)
        heads[o] = 0
        if indeg[o] == 0:
            topo[top] = o
            top += 1
    done = 0
    # topo doubles as the queue: everything before ``done`` is placed, up to ``top`` is ready
    while done < top:
        o = topo[done]
        done += 1
        end = heads[o] + dur[o]
        for s in (jsucc[o], msucc[o]):
            if s >= 0:
                if end > heads[s]:
                    heads[s] = end
                indeg[s] -= 1
                if indeg[s] == 0:
                    topo[top] = s
                    top += 1
    if done < n:
        return -1
    makespan = 0
    for i in range(n - 1, -1, -1):
        o = topo[i]
        tail = 0
        for s in (jsucc[o], msucc[o]):
            if s >= 0 and tails[s] + dur[s] > tail:
                tail = tails[s] + dur[s]
        tails[o] = tail
        if heads[o] + dur[o] + tail > makespan:
            makespan = heads[o] + dur[o] + tail
    return makespan


@njit(cache=True, nogil=True)
def _critical_moves(dur, jpred, mpred, msucc, heads, tails, makespan, path, moves):  # type: ignore[no-untyped-def]
    """The N5 swaps on one critical path (chosen at random where it forks): pairs in ``moves``."""
    n = dur.shape[0]
    # the path's last operation ends at the makespan; pick one of them at random
    count = 0
    last = -1
    for o in range(n):
        if heads[o] + dur[o] == makespan and tails[o] == 0:
            count += 1
            if np.random.randint(count) == 0:
                last = o
    length = 0
    o = last
    while o >= 0:
        path[length] = o
        length += 1
        a = jpred[o]
        b = mpred[o]
        ok_a = a >= 0 and heads[a] + dur[a] == heads[o]
        ok_b = b >= 0 and heads[b] + dur[b] == heads[o]
        if ok_a and ok_b:
            o = a if np.random.randint(2) == 0 else b
        elif ok_a:
            o = a
        elif ok_b:
            o = b
        else:
            o = -1
    # path runs backwards; blocks are maximal runs joined by machine arcs
    n_moves = 0
    blocks = 0
    i = length - 1
    first_block = True
    while i >= 0:
        start = i
        while i > 0 and msucc[path[i]] == path[i - 1]:
            i -= 1
        end = i  # block is path[start] .. path[end] in time order
        i -= 1
        is_last = i < 0
        blocks += 1
        if start - end + 1 >= 2:
            if not first_block:
                moves[n_moves, 0] = path[start]
                moves[n_moves, 1] = path[start - 1]
                n_moves += 1
            if not is_last and not (not first_block and start - end + 1 == 2):
                moves[n_moves, 0] = path[end + 1]
                moves[n_moves, 1] = path[end]
                n_moves += 1
        first_block = False
    if blocks == 1:
        return -1  # one block: the makespan is one machine's load, so the schedule is optimal
    return n_moves


@njit(cache=True, nogil=True)
def _pushed(x, y, outer, chain, dur, times):  # type: ignore[no-untyped-def]
    """Times of x then y in a row, x after ``outer``, each after its neighbour in ``chain``.

    With heads and job predecessors this gives the new starts of a swapped pair; with tails and
    job successors, read backwards, its new tails.
    """
    cx = chain[x]
    tx = times[cx] + dur[cx] if cx >= 0 else 0
    if outer >= 0 and times[outer] + dur[outer] > tx:
        tx = times[outer] + dur[outer]
    cy = chain[y]
    ty = times[cy] + dur[cy] if cy >= 0 else 0
    if tx + dur[x] > ty:
        ty = tx + dur[x]
    return tx, ty


@njit(cache=True, nogil=True)
def _estimate(u, v, dur, jpred, jsucc, mpred, msucc, heads, tails):  # type: ignore[no-untyped-def]
    """Taillard's estimate of the longest path through u and v after swapping them (u before v)."""
    rv, ru = _pushed(v, u, mpred[u], jpred, dur, heads)
    qu, qv = _pushed(u, v, msucc[v], jsucc, dur, tails)
    first = rv + dur[v] + qv
    second = ru + dur[u] + qu
    return first if first > second else second


@njit(cache=True, nogil=True)
def _swap(u, v, mpred, msucc):  # type: ignore[no-untyped-def]
    """Swap u and its machine successor v."""
    a = mpred[u]
    b = msucc[v]
    mpred[v] = a
    if a >= 0:
        msucc[a] = v
    msucc[v] = u
    mpred[u] = v
    msucc[u] = b
    if b >= 0:
        mpred[b] = u


@njit(cache=True, nogil=True)
def seed_kernel(seed):  # type: ignore[no-untyped-def]
    """Seed this thread's numba random stream."""
    np.random.seed(seed)


@njit(cache=True, nogil=True)
def search_chunk(  # type: ignore[no-untyped-def]
    dur, jpred, jsucc, mpred, msucc, best_mpred, best_msucc, forbid, state, iterations, lower_bound
):
    """Run ``iterations`` tabu steps from the current schedule; ``state`` carries the counters.

    state: [iteration, best makespan, current makespan, last improvement, stall limit,
    tenure base, perturbation moves]. Returns the best makespan.
    """
    n = dur.shape[0]
    heads = np.empty(n, dtype=np.int64)
    tails = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    topo = np.empty(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    moves = np.empty((2 * n, 2), dtype=np.int64)
    tenure_base = state[5]
    makespan = _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo)
    for _ in range(iterations):
        it = state[0]
        if state[1] <= lower_bound:
            break
        count = _critical_moves(dur, jpred, mpred, msucc, heads, tails, makespan, path, moves)
        if count == -1:
            # a single block: optimal, nothing left to find
            if makespan < state[1]:
                state[1] = makespan
                for o in range(n):
                    best_mpred[o] = mpred[o]
                    best_msucc[o] = msucc[o]
            break
        stalled = it - state[3] > state[4]
        if count == 0 or stalled:
            for o in range(n):
                mpred[o] = best_mpred[o]
                msucc[o] = best_msucc[o]
            makespan = _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo)
            for _k in range(state[6]):
                c = _critical_moves(dur, jpred, mpred, msucc, heads, tails, makespan, path, moves)
                if c <= 0:
                    break
                pick = np.random.randint(c)
                _swap(moves[pick, 0], moves[pick, 1], mpred, msucc)
                makespan = _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo)
            state[3] = it
            state[0] = it + 1
            continue
        chosen = -1
        chosen_value = 1 << 60
        ties = 0
        for i in range(count):
            u = moves[i, 0]
            v = moves[i, 1]
            value = _estimate(u, v, dur, jpred, jsucc, mpred, msucc, heads, tails)
            allowed = forbid[v * n + u] <= it or value < state[1]
            if not allowed:
                continue
            if value < chosen_value:
                chosen, chosen_value, ties = i, value, 1
            elif value == chosen_value:
                ties += 1
                if np.random.randint(ties) == 0:
                    chosen = i
        if chosen < 0:
            chosen = np.random.randint(count)
        u = moves[chosen, 0]
        v = moves[chosen, 1]
        _swap(u, v, mpred, msucc)
        # forbid putting u back before v for a random tenure
        forbid[u * n + v] = it + tenure_base + np.random.randint(tenure_base // 2 + 1)
        makespan = _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo)
        if makespan < state[1]:
            state[1] = makespan
            state[3] = it
            for o in range(n):
                best_mpred[o] = mpred[o]
                best_msucc[o] = msucc[o]
        state[2] = makespan
        state[0] = it + 1
    return state[1]


@njit(cache=True, nogil=True)
def heads_of(dur, jpred, jsucc, mpred, msucc):  # type: ignore[no-untyped-def]
    """Earliest starts of the schedule given by the machine arcs (a semi-active schedule)."""
    n = dur.shape[0]
    heads = np.empty(n, dtype=np.int64)
    tails = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    topo = np.empty(n, dtype=np.int64)
    _longest_paths(dur, jpred, jsucc, mpred, msucc, heads, tails, indeg, topo)
    return heads


@dataclass
class _Shared:
    """What the search threads share: the best schedule so far, under a lock."""

    best: int = 1 << 62
    arcs: tuple[np.ndarray, np.ndarray] | None = None
    found_at: float = 0.0
    iterations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class TabuOutcome:
    """The best schedule of a tabu search and when it was found."""

    makespan: int
    starts: tuple[tuple[int, ...], ...]
    found_at_s: float
    iterations: int


def initial_arcs(graph: Graph, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A feasible start: operations in order of their job head (random ties), appended per machine."""
    rng = np.random.default_rng(seed)
    n = len(graph.duration)
    head = np.zeros(n)
    for row in graph.index:
        t = 0.0
        for o in row:
            head[o] = t
            t += graph.duration[o]
    # any order that respects every job's sequence makes the machine arcs acyclic
    order = np.lexsort((rng.random(n), head))
    pred = np.full(n, -1, dtype=np.int64)
    succ = np.full(n, -1, dtype=np.int64)
    last: dict[int, int] = {}
    for o in order:
        m = int(graph.machine[o])
        if m in last:
            pred[o] = last[m]
            succ[last[m]] = o
        last[m] = int(o)
    return pred, succ


def tabu_search(
    instance: JobShopInstance,
    time_limit_s: float,
    threads: int = 2,
    seed: int = 0,
    start: tuple[tuple[int, ...], ...] | None = None,
) -> TabuOutcome:
    """Search ``time_limit_s`` seconds on ``threads`` threads; stop early at the trivial lower bound.

    ``start``: the first thread begins from this schedule, the others from fresh starts, so the
    search keeps some diversity.
    """
    graph = Graph.of(instance)
    n = len(graph.duration)
    lower = instance.trivial_lower_bound()
    tenure = TENURE_BASE + instance.n_jobs // max(1, instance.n_machines)
    clock = time.perf_counter()
    deadline = clock + time_limit_s
    shared = _Shared()

    def worker(w: int) -> None:
        if start is not None and w == 0:
            mpred, msucc = graph.machine_arcs(start)
        else:
            mpred, msucc = initial_arcs(graph, seed * 1000 + w)
        best_mpred, best_msucc = mpred.copy(), msucc.copy()
        forbid = np.zeros(n * n, dtype=np.int64)
        state = np.array([0, 1 << 62, 0, 0, STALL_ITERATIONS, tenure, PERTURB_MOVES], dtype=np.int64)
        seed_kernel(seed * 1000 + w + 1)
        while True:
            best = int(
                search_chunk(
                    graph.duration,
                    graph.job_pred,
                    graph.job_succ,
                    mpred,
                    msucc,
                    best_mpred,
                    best_msucc,
                    forbid,
                    state,
                    CHUNK_ITERATIONS,
                    lower,
                )
            )
            now = time.perf_counter()
            with shared.lock:
                shared.iterations += CHUNK_ITERATIONS
                if best < shared.best:
                    shared.best, shared.arcs = best, (best_mpred.copy(), best_msucc.copy())
                    shared.found_at = now - clock
                done = shared.best <= lower
            if done or now >= deadline:
                return

    pool = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if shared.arcs is None:
        raise RuntimeError(f"{instance.name}: the tabu search had no time to finish one chunk")
    heads = heads_of(graph.duration, graph.job_pred, graph.job_succ, *shared.arcs)
    return TabuOutcome(shared.best, graph.starts_of(heads), shared.found_at, shared.iterations)


def warm_up() -> float:
    """Compile (or load from numba's cache) the kernels; seconds taken."""
    clock = time.perf_counter()
    tiny = JobShopInstance("warm-up", (((0, 3), (1, 2)), ((1, 4), (0, 1)), ((0, 2), (1, 3))), 2)
    tabu_search(tiny, 0.01, threads=1)
    return time.perf_counter() - clock
