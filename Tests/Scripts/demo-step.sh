# Sourced by a demo part: `step DESCRIPTION fshost-args…` runs "$fshost" with
# its stderr appended to "$work/log" and prints one line with the status's
# FailSafe name and the time it took. Needs $fshost and $work set.
names=(HA_SUCCESS HA_NOT_RUNNING HA_INVAL_ARGS HA_CMD_FAILED HA_RUNNING HA_NOTSUPPORTED HA_NOCFGINFO HA_PLUGIN_REFUSED HA_TIMEDOUT HA_HOST_ERROR)
step() {
  local what=$1; shift
  local start end rc
  start=$(date +%s%N)
  "$fshost" "$@" 2>>"$work/log"; rc=$?
  end=$(date +%s%N)
  printf '  %-44s → %-16s (%d ms)\n' "$what" "${names[$rc]:-status $rc}" $(( (end - start) / 1000000 ))
}
