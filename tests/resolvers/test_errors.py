from tests.support.client import GraphQLClient, eventually


def test_user_errors_carry_stable_codes(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    cases = {
        "{ homeTimeline(first: 101) { edges { cursor } } }": "BAD_USER_INPUT",
        "{ homeTimeline(first: 0) { edges { cursor } } }": "BAD_USER_INPUT",
        '{ homeTimeline(after: "garbage") { edges { cursor } } }': "BAD_USER_INPUT",
        '{ tweet(id: "!!!") { id } }': "BAD_USER_INPUT",
        '{ tweet(id: "VXNlcjox") { id } }': "BAD_USER_INPUT",  # a User id where a Tweet's goes
        '{ node(id: "bm9wZQ==") { id } }': "BAD_USER_INPUT",
        'mutation { likeTweet(id: "12345") { id } }': "NOT_FOUND",
        'mutation { follow(userId: "12345") { status } }': "NOT_FOUND",
        "{ nope }": "GRAPHQL_VALIDATION_FAILED",
        "{ me { ": "GRAPHQL_PARSE_FAILED",
    }
    for query, code in cases.items():
        assert client.error_code(query, token=token) == code, query
    assert (
        client.error_code('mutation { postTweet(input: {text: "hi"}) { id } }') == "UNAUTHENTICATED"
    )


def test_unexpected_errors_are_masked(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    client.http.app.state.chirp.stores.users.get_stats_many = _boom  # type: ignore[attr-defined]
    body = client.post("{ me { followersCount } }", token=token)
    error = body["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret detail" not in str(body) and "Traceback" not in str(body)


async def _boom(*args: object) -> None:
    raise RuntimeError("secret detail")


def test_malformed_http_requests_are_client_errors(client: GraphQLClient) -> None:
    response = client.http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def test_graphiql_health_and_readiness(client: GraphQLClient) -> None:
    page = client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert client.http.get("/healthz").text == "ok"
    ready = client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert set(ready.json()["lag"]) == {
        "live",
        "delivery",
        "indexing",
        "cleanup",
        "notify",
        "exports",
    }


def test_metrics_count_operations_errors_store_calls_and_jobs(client: GraphQLClient) -> None:
    token = client.sign_up("metered")["accessToken"]
    client.post_tweet(token, "counted")
    client.post("{ homeTimeline(first: 0) { edges { cursor } } }", token=token)
    client.post("{ me { ")  # a document that does not parse is still an answered request
    eventually(lambda: 'kind="fan_out",outcome="done"' in client.http.get("/metrics").text)
    text = client.http.get("/metrics").text
    assert 'chirp_graphql_operations_total{type="mutation"}' in text
    assert 'chirp_graphql_errors_total{code="BAD_USER_INPUT"}' in text
    assert 'chirp_store_calls_total{method="tweets.create"}' in text
