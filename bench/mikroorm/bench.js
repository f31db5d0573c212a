#!/usr/bin/node --expose-gc
'use strict';
/* bench/mikroorm/bench.js — MikroORM 6.6.16 side of the pgorm benchmark workloads (issue 17).
 *
 *   node --expose-gc bench/mikroorm/bench.js [CONNINFO] [--reps N] [--only KEY] [--nchild N]
 *                                            [--graph-parents P]
 *
 * Node 20 from Debian, @mikro-orm/core + @mikro-orm/postgresql 6.6.16 from the npm registry,
 * pinned with `npm i -E` (bench/mikroorm/package.json; scripts/bench installs them). Entities
 * are EntitySchema definitions in plain JavaScript (no decorators, no TypeScript). The same
 * workloads and self-checks as bench/sqlalchemy_bench.py, one fork of the EntityManager (its
 * unit of work + identity map) per unit of work, and the RESULT lines of bench/bench_util.h:
 *   RESULT <tab> key <tab> median <tab> min <tab> max <tab> unit <tab> reps <tab> note
 * CONNINFO is a libpq key=value string (default $PGORM_BENCH_DSN, then $PGORM_TEST_DSN).
 * As in pgorm_bench.c: --only KEY runs the workloads whose key contains KEY; --nchild N (data set
 * of bench/schema.sql -v nchild=N: N children, N/10 parents) and --graph-parents P (parents of the
 * graph workloads) are for bench/scaling, with --only (get_pk, new_graph, delete_cascade need the
 * canonical sizes).
 *
 * What MikroORM cannot do the same way (reported in the notes):
 * - cascade remove reaches only loaded collections: delete_cascade populates the children
 *   first (pgorm and SQLAlchemy load them themselves);
 * - no bind parameters: it formats every value into the SQL text (platform.formatQuery) and
 *   sends it through knex.raw, so nothing is prepared and every distinct statement is parsed;
 * - every call is async (a promise per get, also for identity-map hits);
 * - flushMode COMMIT: its default (AUTO) computes the change sets of all loaded entities of the
 *   type before every query and every findOne, identity-map hits included; no workload needs it.
 */
const { MikroORM, EntitySchema, Collection, Cascade, FlushMode } = require('@mikro-orm/postgresql');

const PER_PARENT = 10;
let NPARENT = 10000, NCHILD = 100000, GRAPH_PARENTS = 1000; // --nchild, --graph-parents
const LAT_ITERS = 5000, HIT_ITERS = 50000; // fewer hits than SQLAlchemy's 200k: each is a promise

class Parent {
	constructor(name) {
		this.name = name;
		this.children = new Collection(this);
	}
}
class Child {
	constructor(name, value) {
		this.name = name;
		this.value = value;
	}
}
const ParentSchema = new EntitySchema({
	class: Parent,
	tableName: 'parent',
	properties: {
		id: { type: 'number', columnType: 'bigint', primary: true, autoincrement: true },
		name: { type: 'string', columnType: 'text' },
		children: { kind: '1:m', entity: () => Child, mappedBy: 'parent', cascade: [Cascade.ALL] },
	},
});
const ChildSchema = new EntitySchema({
	class: Child,
	tableName: 'child',
	properties: {
		id: { type: 'number', columnType: 'bigint', primary: true, autoincrement: true },
		parent: { kind: 'm:1', entity: () => Parent, fieldName: 'parent_id' },
		name: { type: 'string', columnType: 'text' },
		value: { type: 'number', columnType: 'float8' },
	},
});

function parseArgs() {
	let conninfo = null, reps = 3, only = null;
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		if (a[i] === '--reps' && i + 1 < a.length) reps = parseInt(a[++i], 10);
		else if (a[i] === '--only' && i + 1 < a.length) only = a[++i];
		else if (a[i] === '--nchild' && i + 1 < a.length) {
			NCHILD = parseInt(a[++i], 10);
			NPARENT = Math.floor(NCHILD / PER_PARENT);
		} else if (a[i] === '--graph-parents' && i + 1 < a.length) GRAPH_PARENTS = parseInt(a[++i], 10);
		else conninfo = a[i];
	}
	if (!(NCHILD >= PER_PARENT && NCHILD % PER_PARENT === 0 && GRAPH_PARENTS >= 1 && GRAPH_PARENTS <= NPARENT))
		fail(`sizes: --nchild a multiple of ${PER_PARENT}, --graph-parents 1..nchild/${PER_PARENT}`);
	conninfo = conninfo || process.env.PGORM_BENCH_DSN || process.env.PGORM_TEST_DSN;
	if (!conninfo) fail('usage: bench.js CONNINFO [--reps N] [--only KEY]  (or set PGORM_BENCH_DSN)');
	const kv = {};
	for (const p of conninfo.trim().split(/\s+/)) {
		const k = p.indexOf('=');
		kv[p.slice(0, k)] = p.slice(k + 1);
	}
	return { kv, reps, only };
}

function fail(msg) {
	process.stderr.write(`FATAL: ${msg}\n`);
	process.exit(1);
}

const { kv, reps: REPS, only: ONLY } = parseArgs();
const want = (key) => ONLY === null || key.includes(ONLY);
let statements = 0;
let orm;

function median(v) {
	const s = [...v].sort((x, y) => x - y);
	const n = s.length;
	return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function result(key, unit, values, note = '') {
	const med = median(values), mn = Math.min(...values), mx = Math.max(...values);
	process.stdout.write(`RESULT\t${key}\t${med.toFixed(4)}\t${mn.toFixed(4)}\t${mx.toFixed(4)}\t${unit}\t${values.length}\t${note}\n`);
	process.stderr.write(`  ${key.padEnd(28)} ${med.toFixed(3).padStart(12)} ${unit.padEnd(5)} (min ${mn.toFixed(3)} max ${mx.toFixed(3)}, n=${values.length}) ${note}\n`);
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

async function admin(...sqls) {
	const c = orm.em.getConnection();
	for (const s of sqls) await c.execute(s, [], 'run');
}

async function scalar(sql) {
	const rows = await orm.em.getConnection().execute(sql);
	return Number(Object.values(rows[0])[0]);
}

async function checkCounts(parents, children) {
	const p = await scalar('SELECT count(*) FROM parent'), c = await scalar('SELECT count(*) FROM child');
	if (p !== parents || c !== children) fail(`expected ${parents} parents / ${children} children, found ${p} / ${c}`);
}

function checkChild(c) {
	const id = Number(c.id), pid = Number(c.parent.id);
	if (pid !== Math.floor((id - 1) / 10) + 1 || c.name !== `child-${id}` || Math.abs(c.value * 3 - id) > 1e-6)
		fail(`child ${id} has wrong contents`);
}

async function timed(fn) {
	global.gc();
	const t0 = now();
	const out = await fn();
	return [now() - t0, out];
}

// ---------------------------------------------------------------- round trips, identity map
async function benchLatency() {
	let em = orm.em.fork();
	const ts = [];
	for (let i = -200; i < LAT_ITERS; i++) {
		const t0 = now();
		const r = await em.execute('SELECT 1 AS v');
		const t1 = now();
		if (Number(r[0].v) !== 1) fail('SELECT 1 returned something else');
		if (i >= 0) ts.push((t1 - t0) * 1e3);
	}
	result('select1', 'us', ts, "em.execute('SELECT 1 AS v')");

	em = orm.em.fork();
	for (let i = 0; i < 200; i++) await em.findOne(Child, 60000 + i);
	em = orm.em.fork();
	const ids = [];
	for (let i = 0; i < LAT_ITERS; i++) ids.push(1 + (i * 7919) % NCHILD);
	const gt = [];
	let n0 = statements;
	for (const cid of ids) {
		const t0 = now();
		const c = await em.findOne(Child, cid);
		const t1 = now();
		if (c === null || Number(c.id) !== cid) fail(`get ${cid}: wrong object`);
		checkChild(c);
		gt.push((t1 - t0) * 1e3);
	}
	if (statements - n0 !== LAT_ITERS) fail(`get: ${statements - n0} statements for ${LAT_ITERS} misses`);
	result('get_pk', 'us', gt, 'em.findOne(Child, id), identity-map miss');
	const hits = [];
	for (let r = 0; r < REPS; r++) {
		n0 = statements;
		const t0 = now();
		let bad = 0;
		for (let i = 0; i < HIT_ITERS; i++) {
			const cid = ids[i % LAT_ITERS];
			const c = await em.findOne(Child, cid);
			if (Number(c.id) !== cid) bad++;
		}
		hits.push((now() - t0) * 1e6 / HIT_ITERS);
		if (bad || statements !== n0) fail('get hit: wrong objects or SQL was sent');
	}
	result('get_pk_hit', 'ns', hits, `em.findOne(Child, id), identity-map hit (async; mean of ${HIT_ITERS})`);
}

// ---------------------------------------------------------------- loading
function checkLoaded(objs) {
	if (objs.length !== NCHILD) fail(`load: ${objs.length} objects`);
	let sum = 0;
	for (const c of objs) {
		checkChild(c);
		sum += Number(c.id);
	}
	if (sum !== NCHILD * (NCHILD + 1) / 2) fail('load: wrong set of ids');
}

async function benchLoad() {
	const ts = [];
	for (let r = 0; r < REPS; r++) {
		const em = orm.em.fork();
		let [ms, objs] = await timed(() => em.find(Child, {}));
		checkLoaded(objs);
		ts.push(ms);
		objs = null;
		em.clear();
	}
	result('load_100k', 'ms', ts, 'em.find(Child, {})');

	// memory per object: V8 heap growth from the load (after full GCs, untimed)
	const settle = async () => {
		for (let i = 0; i < 3; i++) {
			global.gc();
			await new Promise((r) => setImmediate(r));
		}
		return process.memoryUsage().heapUsed;
	};
	const em = orm.em.fork();
	const before = await settle();
	const objs = await em.find(Child, {});
	const after = await settle();
	checkLoaded(objs);
	result('mem_per_object', 'bytes', [(after - before) / objs.length],
		'V8 heapUsed growth per loaded Child (entity, helper, identity map, original data for the unit of work)');
	em.clear();
}

async function loadGraph(strategy) {
	const em = orm.em.fork();
	const where = { id: { $lte: GRAPH_PARENTS } }, orderBy = { id: 'asc' };
	let parents;
	if (strategy === 'lazy') {
		parents = await em.find(Parent, where, { orderBy });
		for (const p of parents) await p.children.init(); // one SELECT per parent
	} else {
		parents = await em.find(Parent, where, { orderBy, populate: ['children'], strategy: strategy === 'selectin' ? 'select-in' : 'joined' });
	}
	return [em, parents];
}

function checkGraph(parents) {
	if (parents.length !== GRAPH_PARENTS) fail(`graph: ${parents.length} parents`);
	parents.forEach((p, i) => {
		const pid = Number(p.id);
		const kids = p.children.getItems();
		if (pid !== i + 1 || p.name !== `parent-${pid}` || kids.length !== PER_PARENT) fail(`graph: parent ${pid} wrong`);
		let sum = 0;
		for (const c of kids) {
			if (c.parent !== p) fail(`graph: child ${c.id} linked wrongly`);
			checkChild(c);
			sum += Number(c.id);
		}
		if (sum !== 100 * pid - 45) fail(`graph: parent ${pid} has the wrong children`);
	});
}

async function benchGraph() {
	const selects = { lazy: 1 + GRAPH_PARENTS, selectin: 2, joined: 1 };
	const notes = {
		lazy: `em.find(Parent) then await p.children.init() per parent (${selects.lazy} SELECTs)`,
		selectin: `populate: ['children'], strategy 'select-in' (2 SELECTs: IN list of ${GRAPH_PARENTS} keys, inlined)`,
		joined: "populate: ['children'], strategy 'joined' (1 SELECT)",
	};
	const ts = {};
	for (const strat of Object.keys(selects)) if (want(`graph_${strat}`)) ts[strat] = [];
	for (let rep = -1; rep < REPS; rep++) {
		for (const strat of Object.keys(ts)) {
			const n0 = statements;
			const [ms, [em, parents]] = await timed(() => loadGraph(strat));
			const n = statements - n0;
			checkGraph(parents);
			if (n !== selects[strat]) fail(`graph ${strat}: ${n} statements, expected ${selects[strat]}`);
			em.clear();
			if (rep >= 0) ts[strat].push(ms);
		}
	}
	for (const strat of Object.keys(ts)) result(`graph_${strat}`, 'ms', ts[strat], notes[strat]);
}

// ---------------------------------------------------------------- writes
async function checkChildrenTable() {
	await checkCounts(NPARENT, NCHILD);
	if (await scalar("SELECT count(*) FROM child WHERE parent_id <> (id - 1) / 10 + 1 OR name <> 'child-' || id" +
		` OR abs(value * 3 - id) > 1e-6 OR id NOT BETWEEN 1 AND ${NCHILD}`) !== 0)
		fail('flushed children differ from the canonical rows');
}

async function benchFlush100k() {
	const ts = [];
	let n = 0;
	for (let r = 0; r < REPS; r++) {
		await admin('TRUNCATE child');
		const em = orm.em.fork();
		const parents = await em.find(Parent, {}, { orderBy: { id: 'asc' } });
		if (parents.length !== NPARENT) fail(`flush: ${parents.length} parents`);
		const n0 = statements;
		const [ms] = await timed(async () => {
			const objs = [];
			for (let cid = 1; cid <= NCHILD; cid++) {
				const c = new Child(`child-${cid}`, cid / 3.0);
				c.id = cid;
				c.parent = parents[Math.floor((cid - 1) / 10)]; // the inverse collection is not loaded
				objs.push(c);
			}
			em.persist(objs);
			await em.flush();
		});
		ts.push(ms);
		n = statements - n0;
		em.clear();
		await checkChildrenTable();
	}
	await admin('VACUUM ANALYZE child');
	result('flush_100k', 'ms', ts, `100k new Child with parent set, persist + flush (${n} statements)`);
}

async function benchNewGraph() {
	const ts = [];
	let n = 0;
	for (let r = 0; r < REPS; r++) {
		const em = orm.em.fork();
		const n0 = statements;
		const [ms] = await timed(async () => {
			const ps = [];
			for (let i = 0; i < GRAPH_PARENTS; i++) {
				const p = new Parent(`new-parent-${i}`);
				for (let j = 0; j < PER_PARENT; j++) p.children.add(new Child(`new-child-${i}-${j}`, j));
				ps.push(p);
			}
			em.persist(ps);
			await em.flush();
		});
		n = statements - n0;
		ts.push(ms);
		em.clear();
		await checkCounts(NPARENT + GRAPH_PARENTS, NCHILD + GRAPH_PARENTS * PER_PARENT);
		if (await scalar("SELECT count(*) FROM child c JOIN parent p ON p.id = c.parent_id WHERE p.id > 10000" +
			" AND c.name LIKE 'new-child-' || substr(p.name, 12) || '-%'") !== GRAPH_PARENTS * PER_PARENT)
			fail('new graph: children not attached to their parents');
		await admin('DELETE FROM child WHERE parent_id > 10000', 'DELETE FROM parent WHERE id > 10000');
	}
	result('new_graph', 'ms', ts, `1000 Parent with 10 Child each, persist + flush (${n} statements)`);
}

async function benchDelete() {
	const ts = [];
	let n = 0;
	for (let r = 0; r < REPS; r++) {
		const em = orm.em.fork();
		const n0 = statements;
		const [ms, ps] = await timed(async () => {
			// cascade remove reaches loaded collections only: populate them (select-in)
			const ps = await em.find(Parent, { id: { $lte: GRAPH_PARENTS } }, { populate: ['children'], strategy: 'select-in' });
			for (const p of ps) em.remove(p);
			await em.flush();
			return ps;
		});
		n = statements - n0;
		ts.push(ms);
		em.clear();
		if (ps.length !== GRAPH_PARENTS) fail(`delete: ${ps.length} parents`);
		await checkCounts(NPARENT - GRAPH_PARENTS, NCHILD - GRAPH_PARENTS * PER_PARENT);
		if (await scalar('SELECT count(*) FROM child WHERE parent_id <= 1000') !== 0) fail('delete: children left');
		await admin("INSERT INTO parent SELECT g, 'parent-' || g FROM generate_series(1, 1000) g",
			"INSERT INTO child SELECT g, (g - 1) / 10 + 1, 'child-' || g, g / 3.0::float8 FROM generate_series(1, 10000) g");
	}
	await checkCounts(NPARENT, NCHILD);
	await admin('VACUUM ANALYZE parent', 'VACUUM ANALYZE child');
	result('delete_cascade', 'ms', ts,
		`find 1000 parents populating children (cascade remove reaches loaded collections only), remove each, flush (${n} statements)`);
}

async function main() {
	const pkg = require('@mikro-orm/core/package.json');
	orm = await MikroORM.init({
		entities: [ParentSchema, ChildSchema],
		dbName: kv.dbname || 'postgres',
		host: kv.host,
		port: kv.port ? Number(kv.port) : 5432,
		user: kv.user,
		password: kv.password,
		allowGlobalContext: false,
		// no workload queries with unflushed changes pending; the default (AUTO) computes the
		// change sets of every managed entity of the type before each query, identity-map hits
		// included (O(loaded entities) per call)
		flushMode: FlushMode.COMMIT,
		discovery: { warnWhenNoEntities: false },
		onQuery: (sql) => {
			statements++;
			return sql;
		},
	});
	process.stdout.write(`# MikroORM ${pkg.version}, node ${process.version}, reps ${REPS}\n`);
	const workloads = [
		[benchLatency, ['select1', 'get_pk', 'get_pk_hit']], [benchLoad, ['load_100k', 'mem_per_object']],
		[benchGraph, ['graph_lazy', 'graph_selectin', 'graph_joined']], [benchFlush100k, ['flush_100k']],
		[benchNewGraph, ['new_graph']], [benchDelete, ['delete_cascade']],
	];
	if ((NCHILD !== 100000 || GRAPH_PARENTS !== 1000) && ['get_pk', 'new_graph', 'delete_cascade'].some(want))
		fail('new_graph, delete_cascade and get_pk need the canonical sizes: use --only');
	await checkCounts(NPARENT, NCHILD);
	for (const [fn, keys] of workloads) if (keys.some(want)) await fn();
	await checkCounts(NPARENT, NCHILD);
	await orm.close(true);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
