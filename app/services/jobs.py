"""Kinds of background jobs and their payloads."""

FAN_OUT = "fan_out"  # {"tweet_id"}: deliver a new tweet to followers' home timelines
INDEX = "index"  # {"tweet_id"}: put a tweet into the search index
RETRACT = "retract"  # {"tweet_id"}: take a deleted tweet out of timelines and the index
BACKFILL = "backfill"  # {"follower_id", "followee_id"}: a new follow sees recent tweets
UNFOLLOW = "unfollow"  # {"follower_id", "followee_id"}: remove the followee's tweets

HOME_CHANNEL = "home:{user_id}"


def home_channel(user_id: int) -> str:
    return HOME_CHANNEL.format(user_id=user_id)
