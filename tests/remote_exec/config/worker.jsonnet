// bb_worker N (BB_WORKER=1 or 2): fetches an action's inputs into its own
// native build directory (hard links from its cache, read-only), has its
// own bb_runner run the command there, uploads the outputs.
local common = import 'common.libsonnet';
local n = std.parseInt(std.extVar('BB_WORKER'));
local dir = common.state + '/worker' + n;

{
  blobstore: common.blobstore,
  browserUrl: 'http://127.0.0.1/',
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  scheduler: { address: common.ports.schedulerWorkers },
  global: common.diagnostics(2 + n) + {
    // Directories the worker makes (mode 0777 before the umask) must be
    // writable by the runner's unprivileged user.
    setUmask: { umask: 0 },
  },
  buildDirectories: [{
    native: {
      // The runner is given the same path (runner.jsonnet).
      buildDirectoryPath: dir + '/build',
      cacheDirectoryPath: dir + '/cache',
      maximumCacheFileCount: 200000,
      maximumCacheSizeBytes: 8 * 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix:' + dir + '/runner.sock' },
      // Actions this worker runs at once. Two cores: 1 (two in all) unless
      // the caller sets BB_WORKER_CONCURRENCY (cluster.sh).
      concurrency: std.parseInt(std.extVar('BB_WORKER_CONCURRENCY')),
      platform: {
        properties: [
          // Sorted by name, as REAPI requires.
          { name: 'OSFamily', value: 'Linux' },
          { name: 'modhash-toolchain', value: common.toolchain },
        ],
      },
      workerId: { worker: 'worker' + n },
    }],
  }],
  inputDownloadConcurrency: 8,
  outputUploadConcurrency: 8,
}
