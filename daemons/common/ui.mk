# daemons/common/ui.mk - included by the Makefiles of the binaries that serve pages: builds the
# host generator (mkassets.c, zlib) and turns ui/<node>, ui/kit and ui/vendor into
# $(BUILD)/ui/assets_<node>.c. Every file and folder under ui/ is a prerequisite, so a changed,
# added or removed file regenerates the tables. The includer sets BUILD and UI_COMMON (the path
# of daemons/common) and UI_ROOT (the path of ui/).
HOST_CC  ?= cc
UI_FILES := $(shell find $(UI_ROOT) \( -type f -o -type d \) -not -name '.*' 2>/dev/null)

$(BUILD)/mkassets: $(UI_COMMON)/mkassets.c $(UI_COMMON)/uitypes.h
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $< -lz

$(BUILD)/ui/assets_%.c: $(BUILD)/mkassets $(UI_FILES)
	@mkdir -p $(dir $@)
	$(BUILD)/mkassets $* $(UI_ROOT) $@

$(BUILD)/ui/assets_%.o: $(BUILD)/ui/assets_%.c $(UI_COMMON)/uiserve.h
	$(CC) $(ALL_CFLAGS) -c $< -o $@
.PRECIOUS: $(BUILD)/ui/assets_%.c
