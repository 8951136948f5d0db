"""The oldest rules_go and Gazelle that modhash supports, and their check.

Loads nothing: used by both stages of the WORKSPACE set-up.
"""

# The releases modhash is built and tested with on Bazel 4.2; older ones
# are refused (rules_go before 0.34 lacks Go 1.19 support, the Gazelle of
# rules_go 0.34 is 0.26).
MIN_RULES_GO_VERSION = "0.34.0"
MIN_GAZELLE_VERSION = "0.26.0"

def _parse(v):
    """"0.34.0" -> [0, 34, 0]; None if v is not X.Y.Z (digits)."""
    parts = v.split(".")
    if len(parts) != 3:
        return None
    nums = []
    for p in parts:
        if not p or not p.isdigit():
            return None
        nums.append(int(p))
    return nums

def _version_in(s):
    """The first X.Y.Z version in a URL, tag or directory name, or None."""
    for piece in s.replace("/", "-").replace("@", "-").split("-"):
        for suffix in (".tar.gz", ".tgz", ".tar.xz", ".zip"):
            if piece.endswith(suffix):
                piece = piece[:-len(suffix)]
        if piece.startswith("v"):
            piece = piece[1:]
        if _parse(piece):
            return piece
    return None

def version_of_rule(rule):
    """The release a repository rule declares.

    Read from its version (go_module_source), tag (git_repository),
    strip_prefix, or URLs (http_archive).

    Args:
      rule: what native.existing_rule() returns for the repository.

    Returns:
      The version as "X.Y.Z", or None (a local_repository, a commit and the
      like).
    """
    candidates = []
    for key in ("version", "tag", "strip_prefix"):
        v = rule.get(key)
        if type(v) == "string" and v:
            candidates.append(v)
    for key in ("urls", "url"):
        v = rule.get(key)
        if type(v) == "string" and v:
            candidates.append(v)
        elif type(v) in ("list", "tuple"):
            candidates.extend([u for u in v if type(u) == "string"])
    for c in candidates:
        found = _version_in(c)
        if found:
            return found
    return None

def check_version(what, where, version, minimum):
    """Fails, saying so, when version is older than minimum.

    Args:
      what: the rule set's name for the message ("rules_go").
      where: the repository, for the message.
      version: "X.Y.Z", or None when not known (then nothing is checked).
      minimum: the oldest supported "X.Y.Z".
    """
    if version == None:
        return
    have = _parse(version)
    if have == None:
        return
    if have < _parse(minimum):
        fail(("modhash needs %s %s or newer; %s is %s. Declare a newer %s " +
              "before modhash_dependencies(), or drop yours and let " +
              "modhash_dependencies() declare %s.") % (what, minimum, where, version, what, minimum))
