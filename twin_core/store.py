"""One store API over SQLite (WAL, the embedded default) and PostgreSQL (past one machine).

The schema is the SQLModel tables of `twin_core.model`; queries go through SQLAlchemy Core
so both engines run the same statements. Only the bulk write path differs: executemany on
SQLite, COPY into a staging table on PostgreSQL (see `twin_core.ingest`). A PostgreSQL
store may live in its own schema, which is how tests and tenants stay apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from twin_core.errors import StoreUnavailable
from twin_core.model import (
    OBSERVATION_TABLES,
    STATIC_TABLES,
    TWIN_REGISTRY,
    City,
    CityMeta,
    Device,
)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers run beside the ingest writer; NORMAL sync is safe under WAL."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


class TwinStore:
    """The twin's database: schema, city persistence and connections for ingest and queries."""

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self._ingestor: Any = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, url: str, *, schema: str | None = None, create: bool = True) -> TwinStore:
        """Open (and by default create) a store at a SQLAlchemy-style URL.

        `sqlite:///path.db` or `sqlite://` (in memory) for SQLite; `postgresql://...` for
        PostgreSQL through psycopg 3, optionally inside `schema` (created if missing).
        """
        if url.startswith("sqlite"):
            if schema is not None:
                raise ValueError("SQLite stores have no schemas; use another file")
            memory = url in {"sqlite://", "sqlite:///:memory:"}
            engine = create_engine(
                url, connect_args={"check_same_thread": False},
                poolclass=StaticPool if memory else None)
            event.listen(engine, "connect", _sqlite_pragmas)
        elif url.startswith(("postgresql", "postgres")):
            url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)
            args: dict[str, Any] = {"connect_timeout": 5}
            if schema is not None:
                if not _SCHEMA_NAME.match(schema):
                    raise ValueError(f"not a plain schema name: {schema!r}")
                args["options"] = f"-csearch_path={schema}"
            engine = create_engine(url, connect_args=args, pool_pre_ping=True)
        else:
            raise ValueError(f"unsupported store URL {url!r}: use sqlite:// or postgresql://")
        store = cls(engine, schema=schema)
        if create:
            store.create_schema()
        return store

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def create_schema(self) -> None:
        """Create the schema (PostgreSQL) and every twin table that is missing."""
        try:
            with self.engine.begin() as conn:
                if self.schema is not None:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                TWIN_REGISTRY.metadata.create_all(conn)
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open the twin store: {exc.orig}") from exc

    def drop(self) -> None:
        """Remove everything this store created (the whole schema on PostgreSQL)."""
        with self.engine.begin() as conn:
            if self.schema is not None:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            else:
                TWIN_REGISTRY.metadata.drop_all(conn)
        self._ingestor = None

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> TwinStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection inside one transaction (committed on success)."""
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------ the city
    def save_city(self, city: City) -> None:
        """Write every static entity of `city` in one transaction (the store must be empty)."""
        groups = [(CityMeta, [city.meta]), *((type(g[0]), g) for g in (
            city.districts, city.junctions, city.road_segments, city.substations, city.feeders,
            city.buildings, city.devices, city.depots, city.vehicles, city.shelters,
            city.alerts) if g)]
        with self.engine.begin() as conn:
            for cls, rows in groups:
                conn.execute(insert(cls.__table__),  # type: ignore[attr-defined]
                             [r.model_dump() for r in rows])
        self._ingestor = None

    def load_city(self) -> City:
        """The static twin state, as the value simulations start from."""
        with self.engine.connect() as conn:
            loaded: dict[type, tuple] = {}
            for cls in STATIC_TABLES:
                rows = conn.execute(select(cls.__table__)).mappings().all()  # type: ignore[attr-defined]
                items = [cls.model_validate(dict(r)) for r in rows]
                # Sorted here, not by ORDER BY: PostgreSQL collations order text differently
                # from SQLite, and entity order must not depend on the engine.
                key = "pk" if cls is Device else "id"
                loaded[cls] = tuple(sorted(items, key=lambda e, k=key: getattr(e, k)))
        metas = loaded.pop(CityMeta)
        if not metas:
            from twin_core.errors import EntityNotFound

            raise EntityNotFound("the store holds no city yet")
        names = ("districts", "junctions", "road_segments", "devices", "substations",
                 "feeders", "buildings", "depots", "vehicles", "shelters", "alerts")
        return City(meta=metas[0], **dict(zip(names, loaded.values(), strict=True)))

    def count_observations(self) -> int:
        """Rows across all observation tables (cheap enough for tests and reports)."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return sum(int(conn.execute(select(func.count()).select_from(
                t.__table__)).scalar_one())  # type: ignore[attr-defined]
                for t in OBSERVATION_TABLES.values())
