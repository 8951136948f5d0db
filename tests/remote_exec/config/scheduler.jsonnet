// bb_scheduler: queues the frontend's actions by platform and hands them to
// the workers that advertise the same platform properties.
local common = import 'common.libsonnet';

{
  adminHttpServers: [{
    listenAddresses: [common.ports.schedulerAdmin],
    authenticationPolicy: common.allow,
  }],
  clientGrpcServers: [{
    listenAddresses: [common.ports.schedulerClients],
    authenticationPolicy: common.allow,
  }],
  workerGrpcServers: [{
    listenAddresses: [common.ports.schedulerWorkers],
    authenticationPolicy: common.allow,
  }],
  browserUrl: 'http://127.0.0.1/',
  contentAddressableStorage: common.blobstore.contentAddressableStorage,
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  global: common.diagnostics(2),
  executeAuthorizer: common.allow,
  modifyDrainsAuthorizer: common.allow,
  killOperationsAuthorizer: common.allow,
  actionRouter: {
    simple: {
      platformKeyExtractor: { actionAndCommand: {} },
      invocationKeyExtractors: [
        { correlatedInvocationsId: {} },
        { toolInvocationId: {} },
      ],
      initialSizeClassAnalyzer: {
        // A cold x86_64 kernel build on a busy two-core machine.
        defaultExecutionTimeout: '3600s',
        maximumExecutionTimeout: '7200s',
      },
    },
  },
  // An action for a platform no worker offers (another toolchain) fails
  // after this long instead of waiting for such a worker.
  platformQueueWithNoWorkersTimeout: '15s',
}
