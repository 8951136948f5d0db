// bb_storage as the frontend Bazel talks to: CAS and action cache
// forwarded to the storage process, Execute forwarded to the scheduler
// (empty instance name: Bazel needs no --remote_instance_name).
local common = import 'common.libsonnet';

{
  grpcServers: [{
    listenAddresses: [common.ports.frontend],
    authenticationPolicy: common.allow,
  }],
  schedulers: {
    '': { endpoint: { address: common.ports.schedulerClients } },
  },
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  global: common.diagnostics(1),
  contentAddressableStorage: {
    backend: common.blobstore.contentAddressableStorage,
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
    findMissingAuthorizer: common.allow,
  },
  actionCache: {
    // An action cache entry is served only while every output it names is
    // still in the CAS; otherwise the action runs again.
    backend: {
      completenessChecking: {
        backend: common.blobstore.actionCache,
        maximumTotalTreeSizeBytes: 64 * 1024 * 1024,
      },
    },
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
  },
  executeAuthorizer: common.allow,
}
