// bb_storage as the cluster's storage: the content addressable storage
// (inputs, outputs, action and command messages) and the action cache.
local common = import 'common.libsonnet';

{
  grpcServers: [{
    listenAddresses: [common.ports.storage],
    authenticationPolicy: common.allow,
  }],
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  global: common.diagnostics(0),
  contentAddressableStorage: {
    // A kernel build's inputs (the source tree) and outputs fit many times.
    backend: common.localStore(common.state + '/storage/cas', 16 * 1024 * 1024 * 1024, 4 * 1024 * 1024, 3),
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
    findMissingAuthorizer: common.allow,
  },
  actionCache: {
    backend: common.localStore(common.state + '/storage/ac', 256 * 1024 * 1024, 256 * 1024, 1),
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
  },
}
