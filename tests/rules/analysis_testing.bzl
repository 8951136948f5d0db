"""skylib's analysistest.make, minus its toolchain.

skylib 1.0.3's analysistest.make() rules require the toolchain
@bazel_skylib//toolchains/unittest:toolchain_type, which only
register_unittest_toolchains() in WORKSPACE registers; this workspace does
not. Analysis tests need no toolchain (Bazel runs none of their actions), so
this `make` builds the same kind of rule without it. Everything else is
skylib's: analysistest.begin/end and asserts work unchanged on these rules;
use target_actions() and target_bin_dir_path() from here instead of
analysistest's (they read a provider private to skylib).

Once WORKSPACE calls register_unittest_toolchains(), analysistest.make can
replace this file.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest")

_ActionsInfo = provider(
    doc = "The actions of the target under test.",
    fields = ["actions", "bin_path"],
)

def _actions_aspect_impl(target, ctx):
    return [_ActionsInfo(actions = target.actions, bin_path = ctx.bin_dir.path)]

_actions_aspect = aspect(
    implementation = _actions_aspect_impl,
    doc = "Collects the actions of the target under test.",
)

def make(impl, expect_failure = False, attrs = {}):
    """An analysis test rule, like analysistest.make (see the module doc).

    Args:
      impl: the implementation: analysistest.begin(ctx), asserts, then
        return analysistest.end(env).
      expect_failure: the target under test must fail analysis (checked with
        asserts.expect_failure).
      attrs: more attributes of the test rule.

    Returns:
      The test rule.
    """
    attrs = dict(attrs)

    # Read by skylib's asserts to name the failing test ("<function NAME ...>").
    attrs["_impl_name"] = attr.string(default = str(impl).split(" ")[1].rstrip(">"))
    settings = {}
    if expect_failure:
        settings["//command_line_option:allow_analysis_failures"] = "True"
    kwargs = {"cfg": analysis_test_transition(settings = settings)} if settings else {}
    attrs["target_under_test"] = attr.label(
        aspects = [_actions_aspect],
        mandatory = True,
        doc = "The target whose analysis is checked.",
        **kwargs
    )
    return rule(
        implementation = impl,
        attrs = attrs,
        test = True,
        analysis_test = True,
    )

def target_actions(env):
    """The actions of the target under test (analysistest.target_actions).

    Args:
      env: what analysistest.begin returned.

    Returns:
      List of Actions.
    """
    return analysistest.target_under_test(env)[_ActionsInfo].actions

def target_bin_dir_path(env):
    """The target under test's ctx.bin_dir.path (analysistest.target_bin_dir_path).

    Args:
      env: what analysistest.begin returned.

    Returns:
      The path, such as bazel-out/k8-fastbuild/bin.
    """
    return analysistest.target_under_test(env)[_ActionsInfo].bin_path
