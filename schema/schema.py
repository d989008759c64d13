"""The schema: Query, Mutation (and later Subscription) assembled from resolvers/."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from app.extensions import schema_extensions
from app.settings import Settings
from resolvers.mutation import Mutation
from resolvers.query import Query
from schema.tweet import Tweet
from schema.user import User


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[User, Tweet],
        extensions=schema_extensions(settings),
        config=StrawberryConfig(disable_field_suggestions=settings.production),
    )


def printed_schema() -> str:
    """The SDL checked in as schema.graphql (the same for every setting)."""
    return build_schema(Settings()).as_str() + "\n"
