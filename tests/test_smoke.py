def test_showtime_list_is_public(api, showtime):
    response = api.get("/api/v1/showtimes/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == showtime.id
    assert row["seats_available"] == 20
    assert row["theater"]["id"] == showtime.screen.theater_id
    assert row["base_price"] == "10.00"
