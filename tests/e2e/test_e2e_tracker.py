"""Real-browser journeys through login.html and tracker.html against the real dev server."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.browser_support import PASSWORD, DevServer

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def id_token(page: Page, dev_server: DevServer) -> str:
    """The raw ID token the SDK keeps in localStorage."""
    prefix = f"CognitoIdentityServiceProvider.{dev_server.config['clientId']}"
    return str(
        page.evaluate(
            "p => localStorage.getItem(`${p}.${localStorage.getItem(`${p}.LastAuthUser`)}.idToken`)",
            prefix,
        )
    )


def stored_expenses(page: Page, dev_server: DevServer, **query: str) -> list[dict[str, Any]]:
    """What the API holds for the signed-in user (checked behind the page's back)."""
    res = requests.get(
        f"{dev_server.config['apiUrl'].rstrip('/')}/expenses",
        params={"limit": "100", **query},
        headers={"Authorization": id_token(page, dev_server)},
        timeout=10,
    )
    assert res.status_code == 200, res.text
    return list(res.json()["expenses"])


def wait_list_idle(page: Page) -> None:
    expect(page.locator("#list-region")).to_have_attribute("aria-busy", "false")


def add_expense(page: Page, amount: str, category: str, description: str = "", day: str | None = None) -> None:
    """Fill the add form, save, and wait for the list to show the new expense."""
    page.locator("#add-amount").fill(amount)
    page.locator("#add-category").fill(category)
    if day:
        page.locator("#add-date").fill(day)
    page.locator("#add-description").fill(description)
    page.locator("#add-submit").click()
    expect(page.locator("#toast")).to_contain_text("Added")
    wait_list_idle(page)
    expect(page.locator("#expense-list .chip", has_text=category).first).to_be_visible()


def test_protected_page_sends_a_visitor_to_sign_in(page: Page, dev_server: DevServer) -> None:
    page.goto(f"{dev_server.url}/tracker.html")
    page.wait_for_url(re.compile(r"/login\.html"))
    expect(page.locator("#signin-form")).to_be_visible()
    expect(page.locator("#expense-list")).to_have_count(0)


def test_sign_in_errors_are_plain_words(page: Page, dev_server: DevServer, username: str, problems: list[str]) -> None:
    dev_server.create_user(username)
    page.goto(f"{dev_server.url}/login.html")
    page.locator("#signin-username").fill(username)
    page.locator("#signin-password").fill("Wrong!pass1")
    page.locator("#signin-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("don't match")
    expect(page).to_have_url(re.compile(r"/login\.html"))

    page.locator("#signin-username").fill(f"nobody{username}")
    page.locator("#signin-submit").click()
    expect(page.locator("#auth-error")).to_contain_text(re.compile("no account|don't match"))

    unconfirmed = f"u{username}"
    dev_server.create_user(unconfirmed, confirm=False)
    page.locator("#signin-username").fill(unconfirmed)
    page.locator("#signin-password").fill(PASSWORD)
    page.locator("#signin-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("isn't confirmed")
    page.locator("#goto-confirm").click()
    expect(page.locator("#confirm-form")).to_be_visible()
    expect(page.locator("#confirm-username")).to_have_value(unconfirmed)
    page.locator("#confirm-code").fill(dev_server.latest_code(unconfirmed, "SignUp"))
    page.locator("#confirm-submit").click()
    page.wait_for_url("**/tracker.html")  # confirmed, then signed in with the password typed before
    assert problems == []


def test_full_journey(page: Page, dev_server: DevServer, username: str, problems: list[str]) -> None:
    page.goto(f"{dev_server.url}/login.html")
    expect(page.locator("#mailbox-hint")).to_be_visible()  # the local Cognito endpoint is set

    # Create account, with the live password checklist.
    page.get_by_role("button", name="Create an account").click()
    page.locator("#signup-username").fill(username)
    page.locator("#signup-email").fill(f"{username}@example.com")
    page.locator("#signup-password").fill("abc")
    expect(page.locator('#signup-rules [data-rule="lower"]')).to_have_attribute("data-ok", "true")
    expect(page.locator('#signup-rules [data-rule="length"]')).to_have_attribute("data-ok", "false")
    page.locator("#signup-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("every rule")
    page.locator("#signup-password").fill(PASSWORD)
    expect(page.locator('#signup-rules [data-ok="false"]')).to_have_count(0)
    page.locator("#signup-submit").click()

    # Confirm with the code from the dev mailbox; that signs in and opens the tracker.
    expect(page.locator("#confirm-form")).to_be_visible()
    page.locator("#confirm-code").fill(dev_server.latest_code(username, "SignUp"))
    page.locator("#confirm-submit").click()
    page.wait_for_url("**/tracker.html")
    page.wait_for_selector("body[data-state=ready]")
    expect(page.locator("#user-name")).to_have_text(username)
    wait_list_idle(page)
    expect(page.locator("#list-empty")).to_be_visible()

    # Client-side validation before anything is sent.
    page.locator("#add-amount").fill("-3")
    page.locator("#add-submit").click()
    expect(page.locator("#add-amount-error")).to_be_visible()
    expect(page.locator("#add-category-error")).to_be_visible()

    # Three expenses, one of them last month.
    today = date.today()
    earlier = (today.replace(day=1) - timedelta(days=3)).isoformat()
    add_expense(page, "12.50", "Groceries", "Weekly shop")
    add_expense(page, "30", "Transport", "Train pass")
    add_expense(page, "8.25", "Groceries", "Market", day=earlier)
    rows = page.locator("#expense-list > li")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Market")  # newest date first
    assert len(stored_expenses(page, dev_server)) == 3

    # Summary and both charts drawn.
    expect(page.locator("#stat-month-total")).to_contain_text("42.50")
    expect(page.locator("#stat-top-category")).to_have_text("Transport")
    for canvas in ("#category-chart", "#trend-chart"):
        page.wait_for_function(
            """sel => {
                const c = document.querySelector(sel);
                if (!c || !window.Chart.getChart(c) || c.width === 0) return false;
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
                return false;
            }""",
            arg=canvas,
        )

    # Filter by category, then clear.
    page.locator("#filter-category").fill("groceries")
    page.locator("#filter-apply").click()
    wait_list_idle(page)
    expect(rows).to_have_count(2)
    page.locator("#filter-from").fill(today.replace(day=1).isoformat())
    page.locator("#filter-apply").click()
    wait_list_idle(page)
    expect(rows).to_have_count(1)
    page.locator("#filter-clear").click()
    wait_list_idle(page)
    expect(rows).to_have_count(3)

    # Edit in place.
    train = rows.filter(has_text="Train pass")
    train.get_by_role("button", name=re.compile("^Edit")).click()
    form = page.locator("form.edit-form")
    form.locator("input[name=amount]").fill("32.40")
    form.locator("input[name=description]").fill("Monthly train pass")
    form.get_by_role("button", name="Save").click()
    expect(rows.filter(has_text="Monthly train pass")).to_contain_text("32.40")
    assert any(e["amount"] == 32.4 for e in stored_expenses(page, dev_server))

    # Delete, after confirming in the dialog (cancel first: nothing happens).
    market = rows.filter(has_text="Market")
    market.get_by_role("button", name=re.compile("^Delete")).click()
    page.locator("#delete-cancel").click()
    expect(rows).to_have_count(3)
    market.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.locator("#delete-text")).to_contain_text("Market")
    page.locator("#delete-confirm").click()
    expect(page.locator("#toast")).to_contain_text("deleted")
    expect(rows).to_have_count(2)
    assert len(stored_expenses(page, dev_server)) == 2

    # CSV export of the current filter: a real download of the API's CSV.
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    csv_text = open(download.path(), encoding="utf-8").read()  # noqa: SIM115 - read once
    assert csv_text.splitlines()[0].startswith("expenseId,date,amount")
    assert "Monthly train pass" in csv_text and "Market" not in csv_text

    # Sign out everywhere: back to login, and the tracker is protected again.
    page.locator("#signout").click()
    page.wait_for_url(re.compile(r"/login\.html"))
    expect(page.locator("#auth-info")).to_contain_text("signed out")
    page.goto(f"{dev_server.url}/tracker.html")
    page.wait_for_url(re.compile(r"/login\.html"))
    assert problems == []


def test_user_text_is_rendered_as_text(signed_in: Page, problems: list[str]) -> None:
    page = signed_in
    add_expense(page, "5", "<b>bold</b>", XSS)
    row = page.locator("#expense-list > li").first
    expect(row.locator(".expense-desc")).to_have_text(XSS)
    expect(row.locator(".chip")).to_have_text("<b>bold</b>")
    assert page.locator("#expense-list img, #expense-list b, #category-totals b").count() == 0
    row.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.locator("#delete-text")).to_contain_text(XSS)
    page.locator("#delete-cancel").click()
    page.reload()
    page.wait_for_selector("body[data-state=ready]")
    expect(page.locator("#expense-list .expense-desc").first).to_have_text(XSS)
    assert problems == []  # no alert() ran, no script error


def test_double_click_and_retry_store_one_expense(signed_in: Page, dev_server: DevServer) -> None:
    page = signed_in
    keys: list[str] = []
    failed_once: list[bool] = []

    def lose_first_answer(route: Any) -> None:
        # The request reaches the server, but the browser never sees the answer (a dropped connection).
        keys.append(route.request.headers.get("idempotency-key", ""))
        response = route.fetch()
        if not failed_once:
            failed_once.append(True)
            assert response.status == 201
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    def on_expenses(route: Any) -> None:
        if route.request.method == "POST":
            lose_first_answer(route)
        else:
            route.fallback()

    page.route(re.compile(r"/expenses$"), on_expenses)
    page.locator("#add-amount").fill("19.99")
    page.locator("#add-category").fill("Books")
    page.locator("#add-description").fill("Double click")
    page.locator("#add-submit").dblclick()
    expect(page.locator("#add-error")).to_contain_text("Can't reach the server")
    assert len(keys) == 1  # the second click landed on a disabled button
    page.locator("#add-submit").click()  # the user retries the same expense
    expect(page.locator("#toast")).to_contain_text("Added")
    assert len(keys) == 2 and keys[0] == keys[1] and re.fullmatch(r"[0-9a-f-]{36}", keys[0])
    stored = stored_expenses(page, dev_server)
    assert [e["description"] for e in stored] == ["Double click"]
    wait_list_idle(page)
    expect(page.locator("#expense-list > li")).to_have_count(1)


def test_expired_session_keeps_the_unsaved_expense(
    signed_in: Page, dev_server: DevServer, username: str, login: Any
) -> None:
    page = signed_in
    cognito = dev_server.config["cognitoEndpoint"]

    def refuse_refresh(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("AuthFlow") == "REFRESH_TOKEN_AUTH":
            route.fulfill(
                status=400,
                content_type="application/x-amz-json-1.1",
                body=json.dumps({"__type": "NotAuthorizedException", "message": "Refresh Token has expired"}),
            )
        else:
            route.fallback()

    page.route(cognito, refuse_refresh)
    page.route(
        re.compile(r"/expenses$"),
        lambda route: (
            route.fulfill(status=401, content_type="application/json", body='{"message":"Unauthorized"}')
            if route.request.method == "POST"
            else route.fallback()
        ),
    )
    page.locator("#add-amount").fill("44.10")
    page.locator("#add-category").fill("Dentist")
    page.locator("#add-description").fill("Check-up")
    page.locator("#add-submit").click()
    page.wait_for_url(re.compile(r"/login\.html\?reason=expired"))
    expect(page.locator("#auth-info")).to_contain_text("waiting")
    page.unroute_all()

    login(page, username)
    expect(page.locator("#draft-notice")).to_be_visible()
    expect(page.locator("#add-amount")).to_have_value("44.10")
    expect(page.locator("#add-category")).to_have_value("Dentist")
    expect(page.locator("#add-description")).to_have_value("Check-up")
    page.locator("#add-submit").click()
    expect(page.locator("#toast")).to_contain_text("Added")
    assert [e["description"] for e in stored_expenses(page, dev_server)] == ["Check-up"]


def test_phone_width_has_no_sideways_scroll(signed_in: Page, dev_server: DevServer) -> None:
    page = signed_in
    # Charts drawn at desktop width first: a window narrowed afterwards must not stay wide (Chart.js writes the
    # canvas width inline, which once held the one-column grid open at the old width).
    add_expense(page, "12.00", "Lunch", "At the desk")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    add_expense(page, "3.20", "Coffee", "A long description that should wrap nicely on a narrow phone screen")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Keyboard: Tab from the amount field reaches the currency field, focus is visible.
    page.locator("#add-amount").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "add-currency"
    outline = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert outline != "none"
    for field in page.locator("input:visible, select:visible").all():
        field_id = field.get_attribute("id")
        assert field_id and page.locator(f'label[for="{field_id}"]').count() == 1, field_id


def test_id_token_is_refreshed_before_it_expires(page: Page, dev_server: DevServer, username: str, login: Any) -> None:
    dev_server.create_user(username)
    page.clock.install()  # a controllable clock, so an hour passes in an instant
    login(page, username)
    wait_list_idle(page)
    first_token = id_token(page, dev_server)
    refreshes: list[str] = []
    page.on(
        "request",
        lambda req: (
            refreshes.append(req.url)
            if req.method == "POST" and "REFRESH_TOKEN_AUTH" in (req.post_data or "")
            else None
        ),
    )
    page.clock.fast_forward("56:00")  # Cognito ID tokens live 60 minutes; the page refreshes 5 minutes early
    page.wait_for_function(
        "old => Object.keys(localStorage).some(k => k.endsWith('.idToken') && localStorage.getItem(k) !== old)",
        arg=first_token,
    )
    assert len(refreshes) == 1
    authorizations: list[str] = []
    page.on(
        "request",
        lambda req: authorizations.append(req.headers.get("authorization", "")) if "/expenses" in req.url else None,
    )
    page.locator("#filter-apply").click()
    wait_list_idle(page)
    expect(page.locator("#list-error")).to_be_hidden()
    assert authorizations and all(a == id_token(page, dev_server) != first_token for a in authorizations)


def test_forgot_password_sets_a_new_one(page: Page, dev_server: DevServer, username: str, login: Any) -> None:
    dev_server.create_user(username)
    page.goto(f"{dev_server.url}/login.html")
    page.locator("#signin-username").fill(username)
    page.get_by_role("button", name="Forgot password?").click()
    expect(page.locator("#forgot-username")).to_have_value(username)
    page.locator("#forgot-submit").click()
    expect(page.locator("#reset-form")).to_be_visible()
    page.locator("#reset-code").fill(dev_server.latest_code(username, "ForgotPassword"))
    page.locator("#reset-password").fill("weak")
    expect(page.locator('#reset-rules [data-ok="false"]')).to_have_count(4)  # only "a lowercase letter" is met
    page.locator("#reset-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("every rule")
    page.locator("#reset-password").fill("N3w!password")
    page.locator("#reset-submit").click()
    expect(page.locator("#auth-info")).to_contain_text("password is changed")
    login(page, username, "N3w!password")
    expect(page.locator("#user-name")).to_have_text(username)
