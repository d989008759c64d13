"""The schema: Query, Mutation (and later Subscription) assembled from resolvers/."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig

from app.extensions import is_unexpected, label_request_errors, mask_in_place, schema_extensions
from app.settings import Settings
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.tweet import Tweet
from schema.user import User


class ChirpSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        label_request_errors(errors)
        # Errors the client caused are answers, not incidents: log only the unexpected ones.
        unexpected = [e for e in errors if is_unexpected(e)]
        super().process_errors(unexpected, execution_context)
        # Then mask them in place, on every path (execution, extensions, subscriptions).
        for error in unexpected:
            mask_in_place(error)


def build_schema(settings: Settings) -> strawberry.Schema:
    return ChirpSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Tweet],
        extensions=schema_extensions(settings),
        config=StrawberryConfig(disable_field_suggestions=settings.production),
    )


def printed_schema() -> str:
    """The SDL checked in as schema.graphql (the same for every setting)."""
    return build_schema(Settings()).as_str() + "\n"
