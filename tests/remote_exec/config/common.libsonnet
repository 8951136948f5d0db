// Shared by the cluster's configurations. tests/remote_exec/cluster.sh
// starts every process with these environment variables, which Buildbarn
// passes to Jsonnet as std.extVar:
//   BB_STATE      the cluster's state directory (storage, build directories,
//                 runner sockets), absolute
//   BB_PORT_BASE  first of the cluster's TCP ports on 127.0.0.1
//   BB_TOOLCHAIN  the toolchain the workers offer (platform property
//                 modhash-toolchain; must equal //bazel:remote_exec's)
//   BB_WORKER_CONCURRENCY  actions each worker runs at once (default 1)
local state = std.extVar('BB_STATE');
local base = std.parseInt(std.extVar('BB_PORT_BASE'));
local address(offset) = '127.0.0.1:%d' % (base + offset);

{
  state: state,
  toolchain: std.extVar('BB_TOOLCHAIN'),

  // Where each process listens. Bazel talks to the frontend only.
  ports: {
    storage: address(0),  // CAS and action cache
    frontend: address(1),  // --remote_executor=grpc://this
    schedulerClients: address(2),  // the frontend's Execute calls
    schedulerWorkers: address(3),  // the workers' Synchronize calls
    schedulerAdmin: address(4),  // HTTP: queues and workers
  },
  // HTTP /-/healthy of each process, for the health check.
  diagnostics(offset): {
    diagnosticsHttpServer: {
      httpServers: [{
        listenAddresses: [address(10 + offset)],
        authenticationPolicy: { allow: {} },
      }],
      enablePrometheus: true,
    },
  },

  // Kernel trees and their archives: a few hundred MiB per message at most.
  maximumMessageSizeBytes: 64 * 1024 * 1024,

  // The storage process, as the frontend, scheduler and workers reach it.
  blobstore: {
    contentAddressableStorage: { grpc: { address: $.ports.storage } },
    actionCache: { grpc: { address: $.ports.storage } },
  },

  // A local (block-rotating) store in one sparse file per kind of data.
  // newBlocks: blocks written to at once (1 for the action cache, whose
  // entries are replaced).
  localStore(dir, sizeBytes, keys, newBlocks): {
    'local': {
      keyLocationMapOnBlockDevice: {
        file: { path: dir + '/key_location_map', sizeBytes: keys * 64 },
      },
      keyLocationMapMaximumGetAttempts: 16,
      keyLocationMapMaximumPutAttempts: 64,
      oldBlocks: 8,
      currentBlocks: 24,
      newBlocks: newBlocks,
      blocksOnBlockDevice: {
        source: { file: { path: dir + '/blocks', sizeBytes: sizeBytes } },
        spareBlocks: 3,
      },
      persistent: {
        stateDirectoryPath: dir + '/persistent_state',
        minimumEpochInterval: '60s',
      },
    },
  },

  allow: { allow: {} },
}
