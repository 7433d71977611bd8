from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("items", views.ItemViewSet, basename="item")

urlpatterns = [
    path("api/users/<int:user_id>/dashboard", views.dashboard),
    path("api/users/<int:user_id>/items", views.ItemsView.as_view()),
    path("plain", views.plain_text),
    path("json", views.json_response),
    path("binary", views.binary),
    path("falsy/<str:kind>", views.falsy),
    path("empty", views.empty_http),
    path("missing", views.missing),
    path("failing", views.failing),
    path("outside", views.outside_api_view),
    path("fixed", views.fixed_key),
    path("slow", views.slow),
    *router.urls,
]
