"""Plan a SELECT: which API calls fetch each table reference, and the SQL evaluated locally."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from .catalog import LIST_PARAMETERS, PAGE_COLUMNS, TABLES, Column, Table, find_table
from .exceptions import DataError, ProgrammingError
from .outputs import RESTORED, QueryTypes, canonicalise_timestamp_literals, comparisons
from .pushdown import Pushed, Translator, conjuncts
from .rules import check_path_value
from .sqlfunctions import rewrite as rewrite_local
from .statements import DIALECT
from .suggest import did_you_mean


@dataclass
class Scan:
    """One table reference: what to ask the API, and the local table the rows land in."""

    table: Table
    local_name: str
    pushed: Pushed
    page_mode: bool = False
    order_by: str | None = None
    limit: int | None = None  # rows per parent the query can use, when the API may stop early
    keys: list[str] | None = None  # own IDs to get one by one instead of listing
    read_mask: list[str] | None = None
    # Path parameters whose values came from the connection, not the statement: a missing
    # tensorboard or experiment named there is an error, not an empty table.
    defaulted: frozenset[str] = frozenset()

    @property
    def columns(self) -> tuple[Column, ...]:
        if self.page_mode:
            path = tuple(c for c in self.table.columns if c.path_parameter
                         and c.name != self.table.id_column)
            return PAGE_COLUMNS[self.table.name] + path
        return self.table.columns


@dataclass
class QueryPlan:
    scans: list[Scan]
    sql: str
    stream: bool  # row-wise over one scan: evaluate page by page as pages arrive
    limit: int | None = None  # applied while streaming
    offset: int = 0
    # Per output column: the catalog type its values carry back to Python (datetime, dict,
    # bool), and its description type code (None: taken from the first row).
    types: list[str | None] = field(default_factory=list)
    codes: list[str | None] = field(default_factory=list)
    needed: set[str] | None = None  # columns the local SQL reads (None: all)
    tree: exp.Expression | None = None  # the local SQL as a tree (`sql` is its text)


def _int_literal(node: exp.Expression | None) -> int | None:
    """The integer in LIMIT n / OFFSET n (sqlglot wraps it in a Limit/Offset node)."""
    if node is None:
        return None
    value = node.args.get("expression") if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string:
        try:
            return int(str(value.this))
        except ValueError:
            return None
    return None


def _check_limits(tree: exp.Expression) -> None:
    """Refuse, before any call, a LIMIT or OFFSET literal that is not a whole number."""
    for node in tree.find_all(exp.Limit, exp.Offset):
        value = node.args.get("expression")
        if not isinstance(value, exp.Literal):
            continue
        try:
            int(str(value.this).strip())
        except ValueError:
            clause = "LIMIT" if isinstance(node, exp.Limit) else "OFFSET"
            raise ProgrammingError(
                f"{clause} needs a whole number of rows, e.g. {clause} 10; got "
                f"{value.sql(dialect=DIALECT)}.") from None


def _is_row_wise(select: exp.Select, outermost: bool = True) -> bool:
    """True when each output row depends on one input row only (so pages can stream).

    A FROM subquery (Superset's `SELECT ... FROM (SELECT ...) AS virtual_table`) must be row-wise
    too, and must not order or cut its rows: it would do so per page.
    """
    if select.args.get("joins") or select.args.get("group") or select.args.get("having"):
        return False
    if select.args.get("distinct") or select.args.get("with_"):
        return False
    if not outermost and any(select.args.get(k) for k in ("order", "limit", "offset")):
        return False
    for projection in select.expressions:
        if projection.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Select):
            return False
    where = select.args.get("where")
    if where and where.find(exp.Subquery, exp.Select, exp.Exists):
        return False
    source = select.args.get("from_")
    if source is not None and not isinstance(source.this, exp.Table):
        inner = source.this.this if isinstance(source.this, exp.Subquery) else None
        return isinstance(inner, exp.Select) and _is_row_wise(inner, outermost=False)
    return True


def _single_source(scan: Scan) -> bool:
    """True when the scan reads one listing (or one get): its pages come in the API's order."""
    if any(len(scan.pushed.path.get(name) or ()) != 1 for name in scan.table.parent_path):
        return False
    if scan.table.points is not None:  # the points of one series (a run may have several)
        return scan.keys is not None and len(scan.keys) == 1
    return scan.keys is None or len(scan.keys) <= 1


def _table_parts(table: exp.Table) -> list[str]:
    return [part.name for part in table.parts]


def plan_query(tree: exp.Expression, defaults: Mapping[str, str | None], *,
               pushdown: bool = True) -> QueryPlan:
    """Plan a query; `defaults` are the connection's path parameters (projectsId, ...).

    With `pushdown` off only the URL's path is taken from the statement (so that the same
    parents are read); filters, order, limits and gets by key are all left to local evaluation.
    """
    local = tree.copy()
    _check_limits(local)
    cte_names = {cte.alias_or_name.lower() for cte in local.find_all(exp.CTE)}
    scans: list[Scan] = []
    for table_node in list(local.find_all(exp.Table)):
        if not isinstance(table_node.this, exp.Identifier):
            continue  # table-valued functions such as json_each(labels)
        parts = _table_parts(table_node)
        if len(parts) == 1 and parts[0].lower() in cte_names:
            continue
        table = find_table(parts)
        if table is None:
            raise ProgrammingError(
                f"Unknown table {'.'.join(parts)!r}.{did_you_mean(parts[-1], TABLES)} Tables: "
                f"{', '.join(TABLES)} (also as google.aiplatform.<table>)."
            )
        scan = _plan_scan(local, table_node, table, len(scans), defaults)
        if not pushdown:
            scan.pushed.filters.clear()
            scan.pushed.filter_columns.clear()
            scan.pushed.exact = False
            scan.keys = None
            if "orderBy" not in scan.pushed.parameters:
                scan.order_by = None
        scans.append(scan)
    _name_derived_tables(local)
    query_types = QueryTypes(local, {s.local_name: s.columns for s in scans},
                             {s.local_name: s.table.name for s in scans})
    canonicalise_timestamp_literals(query_types)
    _project_names(query_types, scans)
    read = read_columns(local)
    if pushdown:
        for scan in scans:
            _push_projection(read, scan)
    stream = False
    limit, offset = None, 0
    if isinstance(local, exp.Select) and len(scans) == 1 and _is_row_wise(local):
        scan = scans[0]
        order = local.args.get("order")
        # The API sorts by the SQL ORDER BY (not by an `orderBy = '...'` list parameter).
        sql_order = scan.order_by is not None and "orderBy" not in scan.pushed.parameters
        stream = order is None or (sql_order and _single_source(scan))
        limit = _int_literal(local.args.get("limit"))
        offset = _int_literal(local.args.get("offset")) or 0
        has_limit = local.args.get("limit") is not None
        has_offset = local.args.get("offset") is not None
        if stream:
            if (has_limit and limit is None) or (has_offset and not offset):
                stream = offset == 0 and not has_offset and not has_limit
            if stream:
                local.set("limit", None)
                local.set("offset", None)
                if order is not None:
                    local.set("order", None)  # the API returns rows in this order already
                if limit is not None and scan.pushed.exact and not scan.pushed.parameters.get(
                    "pageSize"
                ):
                    scan.limit = limit + offset
        elif (order is not None and sql_order and limit is not None and scan.pushed.exact
              and not (has_offset and _int_literal(local.args.get("offset")) is None)
              and not scan.pushed.parameters.get("pageSize")):
            # Several listings in the SQL order: the first LIMIT + OFFSET rows of each suffice;
            # they are merged, ordered and cut locally.
            scan.limit = limit + offset
        if not stream:
            limit, offset = None, 0
    kinds = query_types.output_kinds() or []
    local = rewrite_local(local)
    return QueryPlan(scans=scans, sql=local.sql(dialect=DIALECT), stream=stream, limit=limit,
                     offset=offset,
                     types=[k.carried if k.carried in RESTORED else None for k in kinds],
                     codes=[k.description_code for k in kinds], needed=read, tree=local)


def _plan_scan(root: exp.Expression, node: exp.Table, table: Table, index: int,
               defaults: Mapping[str, str | None]) -> Scan:
    alias = node.alias or node.name
    select = node.find_ancestor(exp.Select)
    sources = 0
    if select is not None:
        sources = (1 if select.args.get("from_") else 0) + len(select.args.get("joins") or [])
    aliases = frozenset(p.alias.lower() for p in (select.expressions if select else [])
                        if isinstance(p, exp.Alias) and table.column(p.alias) is None)
    translator = Translator(table, alias, only_source=sources == 1, output_aliases=aliases)
    pushed = Pushed()
    where = select.args.get("where") if select is not None else None
    for conjunct in conjuncts(where.this if where else None):
        if not translator.references_only_this_table(conjunct):
            pushed.exact = False
            continue
        parameter = _list_parameter(translator, conjunct)
        if translator.push_conjunct(conjunct, pushed):
            if parameter:
                conjunct.replace(exp.true())
        else:
            if parameter:
                raise ProgrammingError(
                    f"{parameter} is a list parameter of the API: use it only as "
                    f"`{parameter} = '<value>'` ANDed into the WHERE clause."
                )
            pushed.exact = False
    page_mode = select is not None and any(
        translator.column_name(c) is None and c.name.lower() in
        {p.name.lower() for p in PAGE_COLUMNS.get(table.name, ())}
        for c in select.find_all(exp.Column)
        if (not c.table and c.name.lower() not in aliases) or c.table.lower() == alias.lower()
    )
    scan = Scan(table=table, local_name=f"_t{index}_{table.name}", pushed=pushed,
                page_mode=page_mode)
    _resolve_path(scan, defaults)
    scan.order_by = pushed.parameters.get("orderBy")
    if select is not None and select is root and sources == 1 and not page_mode:
        order = select.args.get("order")
        if order is not None and scan.order_by is None:
            # SQLite reads `ORDER BY x` as the output column aliased x, if there is one.
            renamed = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)
                       and not (isinstance(p.this, exp.Column)
                                and p.this.name.lower() == p.alias.lower())}
            terms = [None if isinstance(o.this, exp.Column) and not o.this.table
                     and o.this.name.lower() in renamed else translator.order_term(o)
                     for o in order.expressions]
            if all(terms):
                scan.order_by = ", ".join(t for t in terms if t)
    mask = pushed.parameters.get("readMask")
    scan.read_mask = [m.strip() for m in mask.split(",")] if mask else None
    if not node.alias and (node.args.get("db") or node.args.get("catalog")):
        # `aiplatform.runs."runsId"` names the column through the schema; locally the table is
        # `_tN_runs AS runs`, so the reference becomes `runs."runsId"`.
        for column in root.find_all(exp.Column):
            if column.table.lower() == alias.lower() and (column.args.get("db")
                                                          or column.args.get("catalog")):
                column.set("db", None)
                column.set("catalog", None)
    node.replace(exp.Table(this=exp.to_identifier(scan.local_name),
                           alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return scan


def read_columns(tree: exp.Expression) -> set[str] | None:
    """Lower-case names of the columns a statement reads anywhere, from its tree (None: it
    reads every column: a `*` other than `count(*)`, or a NATURAL JOIN).

    Conservative: a name counts as read for every table, whoever it is qualified with; the
    columns of `JOIN ... USING (...)` count too.
    """
    if any(not isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star)):
        return None
    read: set[str] = set()
    for join in tree.find_all(exp.Join):
        if str(join.args.get("method") or "").upper() == "NATURAL":
            return None
        read |= {i.name.lower() for i in join.args.get("using") or []}
    return read | {c.name.lower() for c in tree.find_all(exp.Column)}


def _push_projection(read: set[str] | None, scan: Scan) -> None:
    """Ask only for the fields the statement reads (`readMask`), unless it reads them all.
    `name` is always read: rows take their own ID from it."""
    if scan.page_mode or scan.read_mask is not None or read is None or \
            scan.table.points is not None:  # points are read whole, by read verbs
        return
    # A nested field (`metadata.maxStep`) is asked for through its top-level field.
    fields = {"name"} | {c.api_field.split(".")[0] for c in scan.table.columns
                         if c.api_field and c.name.lower() in read}
    every = {c.api_field.split(".")[0] for c in scan.table.columns if c.api_field}
    if fields != every:
        scan.read_mask = sorted(fields)


def _list_parameter(translator: Translator, conjunct: exp.Expression) -> str | None:
    if isinstance(conjunct, exp.Paren):
        conjunct = conjunct.this
    names = {translator.column_name(c) for c in conjunct.find_all(exp.Column)}
    found = names & set(LIST_PARAMETERS)
    return next(iter(found)) if found else None


def _resolve_path(scan: Scan, defaults: Mapping[str, str | None]) -> None:
    """Fill path parameters from the connection; project and location are required."""
    path = scan.pushed.path
    for name in scan.table.parent_path:
        if name not in path and defaults.get(name):
            path[name] = [str(defaults[name])]
            scan.defaulted |= {name}
    if "projectsId" not in path and scan.pushed.name_projects:
        path["projectsId"] = list(dict.fromkeys(scan.pushed.name_projects))
    for required, option in (("projectsId", "project"), ("locationsId", "location")):
        # Missing, not empty: `locationsId = 'a' AND locationsId = 'b'` reads no parent (no
        # rows, as in SQL), where no value at all says nothing of where to read.
        if required not in path:
            raise ProgrammingError(
                f"No {option} for table {scan.table.name}: add `{required} = '...'` to the WHERE "
                f"clause, or pass {option}= to connect() (or put it in the runs:// URL)."
            )
    for name, values in path.items():
        # A value that is not one segment of a resource name (`a/b`, `..`) names no resource:
        # it matches no row, and must never reach a URL.
        path[name] = [v for v in values if _is_path_segment(v, name)]
    if scan.table.id_column in path and not scan.page_mode:
        scan.keys = path[scan.table.id_column]


def _is_path_segment(value: str, name: str) -> bool:
    try:
        check_path_value(value, name)
    except DataError:
        return False
    return True


def _project_names(types: QueryTypes, scans: list[Scan]) -> None:
    """`name OP 'projects/<p>/...'` compares with the name `<p>` means, be `<p>` the project's
    ID or its number, wherever the name is compared (any comparison, IN, BETWEEN, IS; through
    subqueries, CTEs, min/max).

    The API names projects by number whatever the request said; a user may write the ID they
    know. Every row read under project `<p>` (its `projectsId`) spells that number in its name,
    so the literal is read as the name the local rows give project `<p>`; the literal stays as
    written when no row of `<p>` was read (then no name of `<p>` is compared either).
    """
    for scope, present in comparisons(types):
        resources = {types.kind(o, scope).resource for o in present
                     if not isinstance(o, exp.Literal)} - {None}
        if len(resources) != 1:
            continue
        table = TABLES[str(resources.pop())]
        local = [s.local_name for s in scans if s.table is table]
        for operand in present:
            if isinstance(operand, exp.Literal) and operand.is_string:
                spelled = _name_as_read(table, local, str(operand.this))
                if spelled is not None:
                    operand.replace(spelled)


def _name_as_read(table: Table, local: list[str], text: str) -> exp.Expression | None:
    """`text`, a name of `table` whose project is an ID, as the local rows of that project
    spell it: coalesce((SELECT 'projects/<number>' || '<below>' FROM <local> WHERE projectsId =
    '<p>' LIMIT 1), ..., '<text>')."""
    if not local or table.parse_name(text) is None:
        return None
    project = text.split("/")[1]
    if project.isdigit():
        return None
    below = text[len("projects/") + len(project):]
    lookups: list[exp.Expression] = []
    for name in local:
        column = exp.column("name", quoted=True)
        # 'projects/' || substr(name, 10, instr(substr(name, 10), '/') - 1) || '<below>'
        after = exp.Anonymous(this="substr", expressions=[column, exp.Literal.number(10)])
        spelled = exp.DPipe(this=exp.DPipe(
            this=exp.Literal.string("projects/"),
            expression=exp.Anonymous(this="substr", expressions=[
                column.copy(), exp.Literal.number(10), exp.Sub(
                    this=exp.Anonymous(this="instr", expressions=[
                        after, exp.Literal.string("/")]),
                    expression=exp.Literal.number(1))])),
            expression=exp.Literal.string(below))
        lookups.append(exp.Subquery(this=exp.select(spelled).from_(
            exp.Table(this=exp.to_identifier(name, quoted=True))).where(exp.EQ(
                this=exp.column("projectsId", quoted=True),
                expression=exp.Literal.string(project))).limit(1)))
    return exp.Coalesce(this=lookups[0], expressions=[*lookups[1:], exp.Literal.string(text)])


def _name_derived_tables(tree: exp.Expression) -> None:
    """Give each unnamed FROM/JOIN subquery a name (`_d1`, ...): SQLite allows several unnamed
    ones, and nothing can refer to them, so a name changes nothing but lets their columns be
    resolved by scope."""
    for number, subquery in enumerate(tree.find_all(exp.Subquery), start=1):
        if not subquery.alias and isinstance(subquery.parent, (exp.From, exp.Join)):
            subquery.set("alias", exp.TableAlias(this=exp.to_identifier(f"_d{number}")))
