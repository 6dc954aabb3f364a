"""The shop's pages: mounted at the site root by config/urls.py."""

from django.conf import settings
from django.urls import path

from . import account, views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("shows/<int:showtime_id>/", views.show, name="show"),
    path("checkout/<int:booking_id>/", views.checkout, name="checkout"),
    path("bookings/", views.bookings, name="bookings"),
    path("signup/", views.signup, name="signup"),
    path("signin/", views.signin, name="signin"),
    path("forgot/", account.forgot, name="forgot"),
    path("reset/<str:uid>/<str:token>/", account.reset, name="reset"),
    path("account/", account.account, name="account"),
    path("staff/checkin/", views.checkin, name="checkin"),
    path(
        "staff/checkin/count/<int:showtime_id>/",
        views.CheckinCountView.as_view(),
        name="checkin-count",
    ),
]

if settings.SHOP_DEV_ROUTES:  # development with localstripe only (config/settings.py)
    from . import dev

    urlpatterns += dev.urlpatterns
