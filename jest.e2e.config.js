/** @type {import('jest').Config} */
module.exports = {
  ...require('./jest.config.js'),
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  testTimeout: 180000,
  maxWorkers: 1,
};
