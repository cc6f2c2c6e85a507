def test_dashboard_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_lead_sees_russian_dashboard(client, make, auth):
    lead = make.user(role="lead", team="Москва — промышленность", name="Алексей Морозов")
    response = auth.login(lead.email)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Москва — промышленность" in page
