from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from boxoffice.accounts.admin_login import throttled_admin_login
from boxoffice.accounts.api import UserViewSet, auth_urls
from boxoffice.accounts.password_api import password_urls
from boxoffice.booking.api.bookings import BookingViewSet
from boxoffice.booking.api.checkin import CheckInView
from boxoffice.booking.api.pricing import PricePolicyView
from boxoffice.booking.api.seatmap import seat_map
from boxoffice.booking.api.tickets import TicketQRView
from boxoffice.catalog.api import GenreViewSet, MovieViewSet, ScreenViewSet, TheaterViewSet
from boxoffice.core import health, media
from boxoffice.live.views import SeatEventsView
from boxoffice.payments.api import BookingPayView, StripeWebhookView
from boxoffice.reports.api import RevenueReportView, ShowtimeReportView
from boxoffice.schedule.api import MovieShowtimesView, ShowtimeViewSet
from boxoffice.waitlist.api import JoinWaitlistView, WaitlistViewSet

router = DefaultRouter(use_regex_path=False)
router.include_root_view = False
# One path per operation: no ".json" suffix twins cluttering the schema and Swagger UI.
router.include_format_suffixes = False
router.register("users", UserViewSet, basename="user")
router.register("genres", GenreViewSet, basename="genre")
router.register("movies", MovieViewSet, basename="movie")
router.register("theaters", TheaterViewSet, basename="theater")
router.register("screens", ScreenViewSet, basename="screen")
router.register("showtimes", ShowtimeViewSet, basename="showtime")
router.register("bookings", BookingViewSet, basename="booking")
router.register("waitlist", WaitlistViewSet, basename="waitlist")

api_v1: list[URLPattern | URLResolver] = [
    *[
        path(f"auth/{route}", view.as_view(), name=f"auth-{route.strip('/')}")
        for route, view in [*auth_urls, *password_urls]
    ],
    path("movies/<int:movie_id>/showtimes/", MovieShowtimesView.as_view(), name="movie-showtimes"),
    path("showtimes/<int:showtime_id>/seats/", seat_map, name="showtime-seats"),
    path(
        "showtimes/<int:showtime_id>/seats/events/",
        SeatEventsView.as_view(),
        name="showtime-seat-events",
    ),
    path(
        "showtimes/<int:showtime_id>/waitlist/",
        JoinWaitlistView.as_view(),
        name="showtime-waitlist",
    ),
    path("bookings/<int:pk>/pay/", BookingPayView.as_view(), name="booking-pay"),
    path(
        "bookings/<int:pk>/tickets/<str:code>/qr.png",
        TicketQRView.as_view(),
        name="booking-ticket-qr",
    ),
    path("payments/stripe/webhook/", StripeWebhookView.as_view(), name="stripe-webhook"),
    path("checkin/", CheckInView.as_view(), name="checkin"),
    path("pricing/policy/", PricePolicyView.as_view(), name="price-policy"),
    path("reports/showtimes/", ShowtimeReportView.as_view(), name="report-showtimes"),
    path("reports/revenue/", RevenueReportView.as_view(), name="report-revenue"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/health/live", health.live, name="health-live"),
    path("api/health/ready", health.ready, name="health-ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # Our template adds the CSRF header to cookie-authenticated "Try it out" writes.
        SpectacularSwaggerView.as_view(
            url_name="schema", template_name="boxoffice/swagger_ui.html"
        ),
        name="swagger-ui",
    ),
    path(
        "api/redoc/",
        # Our template drops the Google Fonts links: the docs must work offline (no CDN).
        SpectacularRedocView.as_view(url_name="schema", template_name="boxoffice/redoc.html"),
        name="redoc",
    ),
    # The admin's sign-in, throttled like the API login (same counters); the rest is Django's.
    path("admin/login/", throttled_admin_login),
    path("admin/", admin.site.urls),
    # The language switch (Django's set_language: POST + CSRF, sets the language cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("boxoffice.shop.urls")),
]

# Posters, in production too (boxoffice.core.media; MEDIA_SERVE=0: a server in front does).
urlpatterns += media.urlpatterns()

handler404 = "boxoffice.core.views.json_not_found"
handler500 = "boxoffice.core.views.json_server_error"
