--[[
  Remove holes (includes/holes) within reach of one end of a wait list, at most `most` of them: run
  after a purge at each end until a call removes fewer than `most`, so that a list of up to
  2 x HOLE_REACH ids keeps no hole, each call costing at most a scan of the reach and `most` removals
  whatever the list's length.

  Input:
    KEYS[1] a lane (lane:<site>) or the legacy wait list
    ARGV[1] "head" or "tail"   ARGV[2] most: holes removed by this call

  Output: the number of holes removed
]]
--@include "lanes"
--@include "holes"
local removed = closeEndHoles(KEYS[1], ARGV[1] == 'tail', tonumber(ARGV[2]))
settleList(KEYS[1], 0)
return removed
