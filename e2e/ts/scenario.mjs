// End-to-end scenario: Pinecone's official TypeScript client against
// vectordb's HTTP server. Run by e2e/ts/run.sh, which starts
// `vectordb serve` and passes its address in VECTORDB_URL and an API key
// in VECTORDB_KEY. Any failed check throws, and the process exits non-zero.
import { Pinecone } from '@pinecone-database/pinecone';
import assert from 'node:assert/strict';

const url = process.env.VECTORDB_URL;
const apiKey = process.env.VECTORDB_KEY;
assert.ok(url && apiKey, 'VECTORDB_URL and VECTORDB_KEY are required');

const pc = new Pinecone({ apiKey, controllerHostUrl: url });
const name = 'multitenant-app';
const fill = (v) => Array(8).fill(v);

const step = async (what, fn) => {
  try {
    await fn();
    console.log('ok  ', what);
  } catch (err) {
    console.error('FAIL', what);
    throw err;
  }
};

await step('create index (201) and wait until ready', async () => {
  const model = await pc.createIndex({
    name, dimension: 8, metric: 'cosine',
    spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
    waitUntilReady: true,
  });
  // waitUntilReady returns the described index in some versions, nothing in others.
  const d = await pc.describeIndex(name);
  assert.equal(d.dimension, 8);
  assert.equal(d.metric, 'cosine');
  assert.ok(d.host.startsWith('http://'), `host ${d.host}`);
  assert.equal(d.status.ready, true);
  void model;
});

await step('list indexes', async () => {
  const list = await pc.listIndexes();
  assert.ok(list.indexes.some((i) => i.name === name));
});

const index = pc.index({ name });
const t1 = index.namespace('tenant1');
const t2 = index.namespace('tenant2');

await step('upsert into two tenants', async () => {
  await t1.upsert({ records: [
    { id: 'A', values: fill(0.1), metadata: { genre: 'drama', year: 2020 } },
    { id: 'B', values: fill(0.2), metadata: { genre: 'comedy', year: 2021 } },
    { id: 'C', values: fill(0.3), metadata: { genre: 'drama', year: 2022 } },
    { id: 'D', values: fill(0.4), metadata: { genre: 'action', year: 2023 } },
  ] });
  await t2.upsert({ records: [
    { id: 'E', values: fill(0.5) },
    { id: 'F', values: fill(0.6) },
    { id: 'G', values: fill(0.7) },
  ] });
});

await step('query tenant2 (scores, values when asked, usage)', async () => {
  const res = await t2.query({ vector: fill(0.7), topK: 3, includeValues: true });
  assert.equal(res.matches.length, 3);
  assert.ok(res.matches.every((m) => Math.abs(m.score - 1) < 1e-6), JSON.stringify(res.matches));
  assert.equal(res.matches[0].values.length, 8);
  assert.equal(res.namespace, 'tenant2');
  assert.ok(Number.isInteger(res.usage.readUnits));
});

await step('query with a filter and metadata; isolation between tenants', async () => {
  const res = await t1.query({ vector: fill(1), topK: 10, filter: { genre: { $eq: 'drama' } }, includeMetadata: true });
  assert.deepEqual(res.matches.map((m) => m.id).sort(), ['A', 'C']);
  assert.equal(res.matches[0].metadata.genre, 'drama');
  const none = await t2.query({ vector: fill(1), topK: 10, filter: { genre: 'drama' } });
  assert.equal(none.matches.length, 0);
});

await step('query by id', async () => {
  const res = await t1.query({ id: 'B', topK: 1 });
  assert.equal(res.matches.length, 1);
});

await step('fetch', async () => {
  const res = await t1.fetch({ ids: ['A', 'B', 'nope'] });
  assert.deepEqual(Object.keys(res.records).sort(), ['A', 'B']);
  assert.equal(res.records.A.metadata.year, 2020);
});

await step('list with pagination', async () => {
  const p1 = await t1.listPaginated({ limit: 3 });
  assert.equal(p1.vectors.length, 3);
  assert.ok(p1.pagination && p1.pagination.next, JSON.stringify(p1));
  const p2 = await t1.listPaginated({ limit: 3, paginationToken: p1.pagination.next });
  assert.deepEqual(p2.vectors.map((v) => v.id), ['D']);
});

await step('update by id', async () => {
  await t1.update({ id: 'A', metadata: { year: 1999 } });
  const res = await t1.fetch({ ids: ['A'] });
  assert.equal(res.records.A.metadata.year, 1999);
});

await step('fetch by metadata', async () => {
  const res = await t1.fetchByMetadata({ filter: { year: { $lt: 2000 } } });
  assert.deepEqual(Object.keys(res.records), ['A']);
});

await step('delete by filter, then by id', async () => {
  await t1.deleteMany({ filter: { genre: 'comedy' } });
  await t1.deleteMany({ ids: ['D'] });
  const res = await t1.fetch({ ids: ['A', 'B', 'C', 'D'] });
  assert.deepEqual(Object.keys(res.records).sort(), ['A', 'C']);
});

await step('describe index stats', async () => {
  const st = await index.describeIndexStats();
  assert.equal(st.dimension, 8);
  assert.equal(st.totalRecordCount, 5);
  assert.equal(st.namespaces.tenant1.recordCount, 2);
  assert.equal(st.namespaces.tenant2.recordCount, 3);
});

await step('namespaces: list, describe, create, delete', async () => {
  const list = await index.listNamespaces();
  assert.deepEqual(list.namespaces.map((n) => n.name).sort(), ['tenant1', 'tenant2']);
  const d = await index.describeNamespace('tenant2');
  assert.equal(Number(d.recordCount), 3);
  await index.createNamespace({ name: 'tenant3' });
  await index.deleteNamespace('tenant3');
});

await step('offboard tenant1', async () => {
  await t1.deleteAll();
  await index.deleteNamespace('tenant1');
  const st = await index.describeIndexStats();
  assert.equal(st.namespaces.tenant1, undefined);
});

await step('a dimension mismatch is a bad request, not a retry storm', async () => {
  await assert.rejects(
    t2.upsert({ records: [{ id: 'X', values: [1, 2, 3] }] }),
    (err) => {
      assert.match(String(err.message), /dimension 3 does not match the dimension of the index 8/);
      assert.equal(err.name, 'PineconeBadRequestError', err.name);
      return true;
    },
  );
});

await step('unknown index is not found', async () => {
  await assert.rejects(pc.describeIndex('nope'), (err) => err.name === 'PineconeNotFoundError' || (assert.fail(err.name), false));
});

await step('delete index (202, then 404)', async () => {
  await pc.deleteIndex(name);
  await assert.rejects(pc.describeIndex(name), (err) => err.name === 'PineconeNotFoundError');
});

console.log('scenario passed');
