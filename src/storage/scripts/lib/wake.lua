-- wake.lua: the wake-up of a consumer's dispatchers, "<consumer> <due_ms>" published on its
-- project's wake channel (storage/wake.h builds and reads the same message in C++).
-- Inserted by cmake/embed_scripts.cmake where a script says "-- uses wake.lua". In cluster
-- mode PUBLISH becomes SPUBLISH as the scripts are loaded (storage/scripts.h).

local function wake(channel, consumer, due_ms)
  redis.call('PUBLISH', channel, consumer .. ' ' .. due_ms)
end
