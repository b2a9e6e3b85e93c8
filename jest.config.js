/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/integration/**/*.test.ts'],
  // the tests' waits stretch by TEST_WAIT_SCALE on a loaded machine (test/support/wait-scale.ts): so does this bound
  testTimeout: 60000 * (Number(process.env.TEST_WAIT_SCALE) >= 1 ? Number(process.env.TEST_WAIT_SCALE) : process.env.CI ? 2 : 1),
  maxWorkers: 2,
  // only with --coverage (`npm run coverage` also collects the child processes: tools/coverage.mjs)
  coverageProvider: 'v8',
  collectCoverageFrom: ['<rootDir>/{bot,cli,dialogs,cards,services}/**/*.ts', '!**/*.d.ts'],
  coverageDirectory: '<rootDir>/coverage/jest',
  coverageReporters: ['json'],
};
