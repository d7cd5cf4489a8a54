# SPDX-License-Identifier: GPL-2.0
# The stress suite, shortened for the KASAN test kernel (every load and store
# checked: several times slower under emulation): fill past capacity, the
# reset race and a 20 s soak, in the two combinations that use different
# mechanisms at every stage (hrtimer + tasklet, timer_list + BH workqueue).
MODES="hrtimer-tasklet timer_list-bh_wq" RACE_S=4 SOAK_S=20
. /stress.sh
