// The layer rules of rumordb (DESIGN.md): bench → node → src → crdts, nothing imported back
// up, no import cycles. Checked in `npm test` by test/architecture.test.ts (which also
// forbids cycles between folders); `npx depcruise src node crdts bench test` prints them.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make modules impossible to understand, test or load alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'crdts-imports-nothing-of-ours',
      severity: 'error',
      comment: 'crdts/ is the pure bottom layer: data types only.',
      from: { path: '^crdts/' },
      to: { path: '^(src|node|test|bench)/' },
    },
    {
      name: 'crdts-no-io',
      severity: 'error',
      comment: 'crdts/ does no I/O and reads no clock: no Node built-ins at all.',
      from: { path: '^crdts/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'src-no-node-layer',
      severity: 'error',
      comment: 'src/ knows peers only through Transport: libp2p, HTTP and the CLI live in node/.',
      from: { path: '^src/' },
      to: { path: ['^node/', 'node_modules/(libp2p|@libp2p|@chainsafe|@multiformats|fastify|@fastify|pino|prom-client|commander|it-[a-z-]+)/'] },
    },
    {
      name: 'src-fs-only-in-store',
      severity: 'error',
      comment: 'src/ touches the file system only in its store.',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises)$' },
    },
    {
      name: 'product-never-imports-tests-or-benchmarks',
      severity: 'error',
      comment: 'bench/ and test/ are never imported by product code.',
      from: { path: '^(crdts|src|node)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'fault-injection-only-in-its-entry',
      severity: 'error',
      comment: 'Fault injection (node/faults) is reached only through node/faults/main.ts, which tests and benchmarks start; the product never imports it.',
      from: { path: '^(crdts|src|node)/', pathNot: '^node/faults/' },
      to: { path: '^node/faults/' },
    },
    {
      name: 'bench-never-imports-tests',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing dependency (the peer systems are installed apart, by bench/peers/install.sh).',
      from: { pathNot: ['^bench/peers/systems/', '^bench/peers/equal-work/drivers/'] },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)(node_modules|dist)/', '^test/package/consumer/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
}
