// bb_runner N (BB_WORKER=1 or 2): runs the commands its worker hands it,
// as the unprivileged user BB_RUNNER_UID:BB_RUNNER_GID (empty home, no
// write access outside the action's directory, no access to root's files).
local common = import 'common.libsonnet';
local n = std.parseInt(std.extVar('BB_WORKER'));
local dir = common.state + '/worker' + n;

{
  buildDirectoryPath: dir + '/build',
  grpcServers: [{
    listenPaths: [dir + '/runner.sock'],
    authenticationPolicy: common.allow,
  }],
  global: common.diagnostics(4 + n),
  runCommandsAs: {
    userId: std.parseInt(std.extVar('BB_RUNNER_UID')),
    groupId: std.parseInt(std.extVar('BB_RUNNER_GID')),
  },
  // Each action's own temporary directory as TMPDIR.
  setTmpdirEnvironmentVariable: true,
}
