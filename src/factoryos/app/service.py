"""The factoryos service: one process holding the plants, the store, accounts, jobs and live twins.

``factoryos serve`` builds a :class:`Service` from :class:`ServiceSettings` and hands it to the
HTTP layer (``factoryos.api.create_app``); nothing here knows about HTTP. Every plant is a site
(its ``site.id``); all sites share one event store, told apart by their hierarchy paths.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from factoryos.app.accounts import Accounts
from factoryos.app.changes import ChangeLog
from factoryos.app.dead_letters_view import DeadLetters
from factoryos.app.hub import Hub, LiveMessage
from factoryos.app.jobs import JobRunner
from factoryos.app.live_ingest import LiveIngest
from factoryos.app.live_loop import LiveLoop, LoopPolicy, LoopSettings, LoopSite
from factoryos.app.live_twin import LiveTwin
from factoryos.app.live_view import line_oee_today
from factoryos.app.plans import PlanStore
from factoryos.app.program_serving import ProgramRegistry
from factoryos.app.settings import DEFAULT_DB, Settings
from factoryos.app.stores import open_record_store, open_store, open_user_store
from factoryos.app.watch import StoreWatch
from factoryos.model import Event, Plant, ProductionCount, StateChange, load_plant
from factoryos.model.errors import ParameterError
from factoryos.store.postgres_url import is_postgres_url
from factoryos.store.protocol import EventStore
from factoryos.store.records import RecordStore
from factoryos.store.users import UserStore

__all__ = ["Service", "ServiceSettings", "Site"]

LOOP_OFF = LoopSettings()
PUSHED_IDS = (
    50_000  # state events already pushed, so one heard twice (here and by notice) goes once
)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What ``factoryos serve`` was asked for."""

    plants: tuple[Path, ...]
    db: str = DEFAULT_DB
    twin: bool = False
    speed: float = 60.0
    twin_days: float = 30.0
    seed: int = 0
    twin_at: dt.datetime | None = None  # the twin's "now" when it starts (default: wall clock)
    orders: Path | None = None  # an order book to plan on the first site at start (a job)
    plan_time_limit_s: float = 10.0
    work_dir: Path | None = None  # plans and job outputs; default: a fresh temporary folder
    users_db: str | None = None  # accounts' DuckDB file or PostgreSQL URL; default: the store's
    secure_cookies: bool = False  # set behind HTTPS
    kpi_push_s: float = 1.0  # how often changed sites get fresh KPIs over the live stream
    loop: LoopSettings = LOOP_OFF  # the live loop (repair, check, dispatch)
    ingest: Path | None = None  # a mapping: ingest live data into the store in this process
    broker: str = "mqtt://127.0.0.1:1883"  # the ingester's source (mqtt:// or opc.tcp://)
    registry: Path | None = None  # a programme registry (DuckDB) for the programme officer
    answers: tuple[tuple[str, Path], ...] = ()  # (site id, self-assessment answers YAML)
    risk_data: Path | None = None  # AI4I 2020 CSV: the risk view's classifier trains on it


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    plant: Plant
    plant_path: Path


def _answers_of(pairs: Sequence[tuple[str, Path]], sites: dict[str, Site]) -> dict[str, Path]:
    """Each site's self-assessment answers file, checked to exist (read at each assessment)."""
    out = {}
    for site, path in pairs:
        if site not in sites:
            raise ParameterError("answers", site, f"unknown site; known: {sorted(sites)}")
        if not Path(path).is_file():
            raise ParameterError("answers", str(path), "no such answers file")
        out[site] = Path(path)
    return out


class Service:
    """Long-lived state of the server; :meth:`start` and :meth:`stop` bracket its life."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        store: EventStore | None = None,
        users: UserStore | None = None,
        records: RecordStore | None = None,
    ) -> None:
        if not settings.plants:
            raise ParameterError("plant", [], "serve needs at least one plant model")
        self.settings = settings
        self.sites: dict[str, Site] = {}
        for path in settings.plants:
            plant = load_plant(path)
            if plant.site.id in self.sites:
                raise ParameterError("plant", str(path), f"site {plant.site.id!r} given twice")
            self.sites[plant.site.id] = Site(plant.site.id, plant, Path(path))
        self.program = ProgramRegistry(settings.registry) if settings.registry else None
        self.answers = _answers_of(settings.answers, self.sites)
        self.store = store if store is not None else open_store(Settings(db=settings.db))
        if users is None:
            # beside a PostgreSQL event store the accounts are tables on the same server
            users = open_user_store(settings.users_db or settings.db)
        self.accounts = Accounts(users, frozenset(self.sites))
        self.work_dir = settings.work_dir or Path(tempfile.mkdtemp(prefix="factoryos-serve-"))
        self.plans = {
            s.id: PlanStore(s.plant, s.plant_path, self.work_dir / s.id / "plans")
            for s in self.sites.values()
        }
        # jobs and loop proposals beside the events: a restarted server still shows them
        self.records = records if records is not None else open_record_store(settings.db)
        self.jobs = JobRunner(self.records, list(self.sites))
        self.dead_letters = DeadLetters(settings.db)
        self.hub = Hub()
        self.twins: dict[str, LiveTwin] = {}
        self.loop: LiveLoop | None = None
        if settings.loop.policy is not LoopPolicy.OFF:
            sites = {s.id: LoopSite(s.plant, self.plans[s.id]) for s in self.sites.values()}
            self.loop = LiveLoop(settings.loop, sites, self.now, self.hub, self.records)
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self.changes = ChangeLog()
        self._pushed: OrderedDict[str, None] = OrderedDict()
        self.ingester: LiveIngest | None = None
        self._watch: StoreWatch | None = None
        self._stop = threading.Event()
        self._life_lock = threading.Lock()
        self._starts = 0
        self._pusher: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the twins and the KPI pusher; nested starts (several applications over one
        service, as tests make) only count, and the last :meth:`stop` stops."""
        with self._life_lock:
            self._starts += 1
            if self._starts == 1:
                self._stop.clear()
                self._start()

    def stop(self) -> None:
        with self._life_lock:
            self._starts -= 1
            if self._starts <= 0:
                self._starts = 0
                self._halt()

    def _start(self) -> None:
        if self.loop is not None:
            self.loop.start()
        if self.settings.twin:
            for site in self.sites.values():
                twin = LiveTwin(
                    site.plant,
                    self.store,
                    speed=self.settings.speed,
                    days=self.settings.twin_days,
                    seed=self.settings.seed,
                    now=self.settings.twin_at,
                    on_stored=self.stored,
                )
                self.twins[site.id] = twin
                twin.start()
        if self.settings.orders is not None:
            first = next(iter(self.sites))
            plans = self.plans[first]
            plan_id = plans.new(
                self.settings.orders.read_text(encoding="utf-8"), "weighted_tardiness"
            )
            limit = self.settings.plan_time_limit_s
            self.jobs.submit(
                "schedule", first, lambda progress: plans.solve(plan_id, limit, progress)
            )
        if self.settings.ingest is not None:
            self.ingester = LiveIngest(
                self.settings.ingest,
                next(iter(self.sites.values())).plant,
                self.settings.broker,
                self.store,
                self.settings.db,
                self.stored,
            )
            self.ingester.start()
        if is_postgres_url(self.settings.db):
            # other processes (ingesters) may write to the same store: hear of their events
            self._watch = StoreWatch(self.settings.db, self.store, self.changes, self.stored)
            self._watch.start()
        self._pusher = threading.Thread(target=self._push_kpis, name="factoryos-kpi", daemon=True)
        self._pusher.start()

    def close_streams(self) -> None:
        """Let live streams end (before the server drains its connections); :meth:`stop` ends
        the rest."""
        self._stop.set()

    def _halt(self) -> None:
        self._stop.set()
        for twin in self.twins.values():
            twin.stop()
        if self.ingester is not None:
            self.ingester.stop()
        if self._watch is not None:
            self._watch.stop()
        if self.loop is not None:
            self.loop.stop()
        if self._pusher is not None:
            self._pusher.join(5.0)
        self.jobs.shutdown()
        self.dead_letters.close()

    # -- time ------------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def now(self, site: str) -> dt.datetime:
        """The site's clock: its live twin's when one runs; for the site the in-process ingester
        feeds, the newest event time of the last batch it stored; else the wall clock (UTC)."""
        twin = self.twins.get(site)
        if twin is not None:
            return twin.now
        ingester = self.ingester
        if ingester is not None and ingester.latest is not None and site == next(iter(self.sites)):
            return ingester.latest.astimezone(dt.UTC)
        return dt.datetime.now(dt.UTC)

    def hearing_others(self, timeout_s: float) -> bool:
        """Whether events other processes store reach this service (it listens to the store's
        notices), waiting up to ``timeout_s`` for the listener to connect."""
        return self._watch is not None and self._watch.listening.wait(timeout_s)

    # -- live ------------------------------------------------------------------------------------

    def site_of_path(self, path: str) -> str | None:
        for site in self.sites.values():
            if site.plant.is_in_subtree(path, site.plant.root_path):
                return site.id
        return None

    def stored(self, events: Sequence[Event]) -> None:
        """Tell live listeners about events just stored (state changes at once, KPIs soon),
        the live loop about breakdowns and scrap, and cached answers that they may have
        changed. Events heard twice (stored here and then by the store's notice) are pushed
        once."""
        if not events:
            return
        self.changes.record(min(e.ts for e in events))
        touched: dict[str, list[Event]] = {}
        for event in events:
            site = self.site_of_path(event.path)
            if site is None:
                continue
            # counts matter to the loop only (scrap): remembered only when it runs
            heard = isinstance(event, StateChange) or (
                self.loop is not None and isinstance(event, ProductionCount)
            )
            first = heard and self._first_push(event.event_id)
            touched.setdefault(site, [])
            if first:
                touched[site].append(event)
            if isinstance(event, StateChange) and first:
                self.hub.publish(
                    LiveMessage(
                        site,
                        "state",
                        {
                            "path": event.path,
                            "state": event.state.value,
                            "reason": event.reason,
                            "since": event.ts.isoformat(),
                        },
                    )
                )
        if self.loop is not None:
            for site, of_site in touched.items():
                self.loop.observe(site, of_site)
        with self._dirty_lock:
            self._dirty |= touched.keys()

    def _first_push(self, event_id: str) -> bool:
        with self._dirty_lock:
            if event_id in self._pushed:
                return False
            self._pushed[event_id] = None
            if len(self._pushed) > PUSHED_IDS:
                self._pushed.popitem(last=False)
            return True

    def _push_kpis(self) -> None:
        while not self._stop.wait(self.settings.kpi_push_s):
            with self._dirty_lock:
                dirty, self._dirty = self._dirty, set()
            for site_id in sorted(dirty):
                if not self.hub.listening(site_id):
                    continue
                site = self.sites[site_id]
                lines = line_oee_today(self.store, site.plant, self.now(site_id))
                self.hub.publish(LiveMessage(site_id, "kpi", {"lines": lines}))
